/**
 * A fake InfoClient that records every command and answers sindex / udf / build commands the way
 * Aerospike CE 8.1.2 does in ../shared/reference/wire (d-admin, e1, f1 transcripts):
 * - `sindex-list:ns=<ns>;b64=true` → `ns=..:indexname=..:set=..:bin=..:type=numeric:indextype=default:
 *   context=null:exp=null:state=RW` entries joined by `;`; a set-less index shows `set=null`.
 * - `sindex-create:...` → `ok`; same name with another definition → `ERROR:200:'indexname' already
 *   exists with different definition`; identical again → `ok`.
 * - `sindex-delete:...` → `ok` (also for a missing index).
 * - `sindex-stat:namespace=..;indexname=..` / `sindex/<ns>/<name>` → `entries=0;...;load_pct=N;...`,
 *   or `ERROR:201:no index`.
 * - `udf-put:...` → `ok`, or the compile error form for content holding `@@compile_error@@`.
 * - `udf-list` → `filename=<n>,hash=<h>,type=LUA;` per module.
 * Hooks let a test change behaviour (slow deletes, builds that progress, nodes that lag).
 */
import type { InfoClient } from '../../src/main/metadata/info.js';

export interface FakeIndex {
  namespace: string;
  name: string;
  /** Stored exactly as sent: undefined = no set= parameter, 'null' = a set named null. */
  set: string | undefined;
  bin: string;
  type: string; // lower case, as listed
  indextype: string; // lower case, as listed
  context: string | null;
}

export class FakeInfoCluster implements InfoClient {
  readonly commands: string[] = [];
  readonly allNodeCommands: string[] = [];
  readonly indexes: FakeIndex[] = [];
  readonly udfs = new Map<string, Buffer>();
  build = '8.1.2.0';
  nodeCount = 1;
  /** How many sindex-list answers still show an index after its delete (async delete). */
  deleteLag = 0;
  /** When false, sindex-delete answers ok and does nothing. */
  deleteWorks = true;
  /** Called after a delete took effect (e.g. to let "someone else" re-create the index). */
  afterDelete: ((cluster: FakeInfoCluster) => void) | null = null;
  /** load_pct a node reports for an index at a given poll (default: 100). */
  loadPercent: (node: number, index: string, poll: number) => number | 'no index' = () => 100;
  /** Whether node `node` lists UDF `name` at a given udf-list poll (default: yes once put). */
  udfVisible: (node: number, name: string, poll: number) => boolean = () => true;
  /** Answers to override, by exact command. */
  readonly overrides = new Map<string, string>();

  private pendingDeletes: { index: FakeIndex; listsLeft: number }[] = [];
  private statPolls = new Map<string, number>();
  private udfListPolls = 0;

  async info(commands: string[]): Promise<Map<string, string>> {
    const answers = new Map<string, string>();
    for (const command of commands) {
      this.commands.push(command);
      answers.set(command, this.answer(command, 0, 0));
    }
    return answers;
  }

  async infoAllNodes(commands: string[]): Promise<Map<string, string>[]> {
    const perNode: Map<string, string>[] = [];
    const polls = new Map<string, number>();
    for (const command of commands) {
      this.allNodeCommands.push(command);
      polls.set(command, this.nextPoll(command));
    }
    for (let node = 0; node < this.nodeCount; node++) {
      const answers = new Map<string, string>();
      for (const command of commands) answers.set(command, this.answer(command, node, polls.get(command)!));
      perNode.push(answers);
    }
    return perNode;
  }

  private nextPoll(command: string): number {
    if (command === 'udf-list') return this.udfListPolls++;
    const poll = this.statPolls.get(command) ?? 0;
    this.statPolls.set(command, poll + 1);
    return poll;
  }

  private answer(command: string, node: number, poll: number): string {
    const override = this.overrides.get(command);
    if (override !== undefined) return override;
    const colon = command.indexOf(':');
    const name = colon < 0 ? command : command.slice(0, colon);
    const params = colon < 0 ? new Map<string, string>() : parseParams(command.slice(colon + 1));
    switch (name) {
      case 'build':
        return this.build;
      case 'sindex-list':
        return this.sindexList(params.get('ns') ?? params.get('namespace') ?? '');
      case 'sindex-create':
        return this.sindexCreate(params);
      case 'sindex-delete':
        return this.sindexDelete(params);
      case 'sindex-stat':
        return this.sindexStat(params.get('namespace')!, params.get('indexname')!, node, poll);
      case 'udf-put':
        return this.udfPut(params);
      case 'udf-list':
        return this.udfList(node, poll);
      default:
        if (command.startsWith('sindex/')) {
          const [, namespace, index] = command.split('/');
          return this.sindexStat(namespace!, index!, node, poll);
        }
        return 'ERROR:4:unrecognized command';
    }
  }

  private sindexList(namespace: string): string {
    const listed = this.indexes.filter((index) => index.namespace === namespace);
    for (const pending of this.pendingDeletes) {
      if (pending.listsLeft > 0 && pending.index.namespace === namespace) listed.push(pending.index);
    }
    this.settleDeletes();
    return listed
      .map(
        (index) =>
          `ns=${index.namespace}:indexname=${index.name}:set=${index.set ?? 'null'}:bin=${index.bin}:type=${index.type}` +
          `:indextype=${index.indextype}:context=${index.context ?? 'null'}:exp=null:state=RW`,
      )
      .join(';');
  }

  private settleDeletes(): void {
    for (const pending of this.pendingDeletes) pending.listsLeft--;
    const settled = this.pendingDeletes.filter((pending) => pending.listsLeft <= 0);
    this.pendingDeletes = this.pendingDeletes.filter((pending) => pending.listsLeft > 0);
    if (settled.length > 0) this.afterDelete?.(this);
  }

  private sindexCreate(params: Map<string, string>): string {
    const namespace = params.get('namespace') ?? params.get('ns');
    const name = params.get('indexname');
    let bin = params.get('bin');
    let type = params.get('type');
    const indexdata = params.get('indexdata');
    if (indexdata !== undefined) [bin, type] = indexdata.split(',');
    if (!namespace || !name || !bin || !type) return 'ERROR:4:missing parameter';
    const lowerType = type.toLowerCase() === 'integer' ? 'numeric' : type.toLowerCase();
    if (!['numeric', 'string', 'blob', 'geo2dsphere'].includes(lowerType)) {
      return "ERROR:4:bad 'type' - must be one of 'numeric', 'string', 'blob', 'geo2dsphere'";
    }
    const created: FakeIndex = {
      namespace,
      name,
      set: params.get('set'),
      bin,
      type: lowerType,
      indextype: (params.get('indextype') ?? 'default').toLowerCase(),
      context: params.get('context') ?? null,
    };
    const existing = this.indexes.find((index) => index.namespace === namespace && index.name === name);
    if (existing) {
      return JSON.stringify(existing) === JSON.stringify(created)
        ? 'ok'
        : "ERROR:200:'indexname' already exists with different definition";
    }
    this.indexes.push(created);
    return 'ok';
  }

  private sindexDelete(params: Map<string, string>): string {
    const namespace = params.get('namespace') ?? params.get('ns');
    const at = this.indexes.findIndex((index) => index.namespace === namespace && index.name === params.get('indexname'));
    if (at >= 0 && this.deleteWorks) {
      const [removed] = this.indexes.splice(at, 1);
      if (this.deleteLag > 0) this.pendingDeletes.push({ index: removed!, listsLeft: this.deleteLag });
      else this.afterDelete?.(this);
    }
    return 'ok';
  }

  private sindexStat(namespace: string, name: string, node: number, poll: number): string {
    if (!this.indexes.some((index) => index.namespace === namespace && index.name === name)) return 'ERROR:201:no index';
    const percent = this.loadPercent(node, name, poll);
    if (percent === 'no index') return 'ERROR:201:no index';
    return `entries=0;used_bytes=16777216;entries_per_bval=0;entries_per_rec=0;load_pct=${percent};load_time=13;stat_gc_recs=0`;
  }

  private udfPut(params: Map<string, string>): string {
    const filename = params.get('filename')!;
    const content = Buffer.from(params.get('content')!, 'base64');
    if (Number(params.get('content-len')) !== params.get('content')!.length) return 'ERROR:4:bad content-len';
    if (content.includes('@@compile_error@@')) {
      return `error=compile_error;file=${filename};line=2;message=${Buffer.from("')' expected near <eof>").toString('base64')}`;
    }
    this.udfs.set(filename, content);
    return 'ok';
  }

  private udfList(node: number, poll: number): string {
    let out = '';
    for (const name of this.udfs.keys()) {
      if (this.udfVisible(node, name, poll)) out += `filename=${name},hash=4de26e7ab189e5a9dabfb02c6d5f37c61eeb4e16,type=LUA;`;
    }
    return out;
  }
}

function parseParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return params;
}

/** A clock that only moves when the code under test sleeps. */
export class FakeTime {
  nowMs = 0;
  readonly sleeps: number[] = [];
  readonly timing = {
    sleep: async (ms: number): Promise<void> => {
      this.sleeps.push(ms);
      this.nowMs += ms;
    },
    now: (): number => this.nowMs,
  };
}

export class RecordingLogger {
  readonly lines: string[] = [];
  info(message: string): void {
    this.lines.push(`INF ${message}`);
  }
  error(message: string): void {
    this.lines.push(`ERR ${message}`);
  }
  verbose(message: string): void {
    this.lines.push(`VER ${message}`);
  }
  /** INF and ERR lines only (what a run without -v prints). */
  get printed(): string[] {
    return this.lines.filter((line) => !line.startsWith('VER '));
  }
}
