/**
 * Fault injection for the test cluster: rules that tests (or the standalone command's flags) add and
 * that every node consults per command. A rule matches a command kind and optionally a node, fires
 * for the next `count` matching commands or for a random `fraction` of them, and then:
 * - `error`: the command is answered with `resultCode` (single-record: that rc; batch: a lone LAST
 *   message with that rc, as the server's batch-level errors look; info: every command of the
 *   request answers `ERROR:<rc>:injected fault`; admin: an as_sec_msg with that rc);
 * - `record-error`: each record write (single write or batch write row) fails with `resultCode`;
 * - `latency`: the answer is sent `latencyMs` later;
 * - `hang`: no answer at all (the connection stays open until the client gives up);
 * - `drop`: the connection is closed without an answer.
 */

export type CommandKind = 'single-write' | 'single-read' | 'batch' | 'info' | 'admin';
export const COMMAND_KINDS: readonly CommandKind[] = ['single-write', 'single-read', 'batch', 'info', 'admin'];

export type FaultAction =
  | { type: 'error'; resultCode: number }
  | { type: 'latency'; latencyMs: number }
  | { type: 'hang' }
  | { type: 'drop' };

export interface FaultRuleOptions {
  /** Command kinds the rule applies to; default: every data command (not info/admin). */
  kinds?: CommandKind[];
  /** Node index; default: every node. */
  node?: number;
  /** Fire for the next `count` matching commands, then expire. */
  count?: number;
  /** Fire for this fraction (0..1) of matching commands; with `count`, until `count` have fired. */
  fraction?: number;
}

interface Rule {
  id: number;
  action: FaultAction | { type: 'record-error'; resultCode: number };
  kinds: Set<CommandKind>;
  node?: number;
  remaining: number;
  fraction: number;
}

export interface FaultHandle {
  readonly id: number;
  /** How many times the rule fired so far. */
  readonly fired: number;
  remove(): void;
}

const DATA_KINDS: CommandKind[] = ['single-write', 'single-read', 'batch'];

export class FaultInjector {
  private rules: Rule[] = [];
  private nextId = 1;
  private readonly firedCounts = new Map<number, number>();
  /** Deterministic randomness so fractions are reproducible. */
  private seed = 0x2545f491;

  private random(): number {
    this.seed ^= this.seed << 13;
    this.seed ^= this.seed >>> 17;
    this.seed ^= this.seed << 5;
    return (this.seed >>> 0) / 0x100000000;
  }

  private add(action: Rule['action'], options: FaultRuleOptions, defaultKinds: CommandKind[]): FaultHandle {
    const fraction = options.fraction ?? 1;
    if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`fraction must be within 0..1, got ${fraction}`);
    if (options.count !== undefined && !(Number.isInteger(options.count) && options.count > 0)) {
      throw new RangeError(`count must be a positive integer, got ${options.count}`);
    }
    const rule: Rule = {
      id: this.nextId++,
      action,
      kinds: new Set(options.kinds ?? defaultKinds),
      node: options.node,
      remaining: options.count ?? Number.POSITIVE_INFINITY,
      fraction,
    };
    this.rules.push(rule);
    this.firedCounts.set(rule.id, 0);
    const injector = this;
    return {
      id: rule.id,
      get fired() {
        return injector.firedCounts.get(rule.id) ?? 0;
      },
      remove: () => {
        this.rules = this.rules.filter((r) => r !== rule);
      },
    };
  }

  /** Answer matching commands with `resultCode` instead of executing them. */
  failCommands(resultCode: number, options: FaultRuleOptions = {}): FaultHandle {
    return this.add({ type: 'error', resultCode }, options, DATA_KINDS);
  }

  /** Fail record writes (single writes and batch write rows) with `resultCode`; `kinds` is ignored. */
  failWrites(resultCode: number, options: Omit<FaultRuleOptions, 'kinds'> = {}): FaultHandle {
    return this.add({ type: 'record-error', resultCode }, options, ['single-write', 'batch']);
  }

  addLatency(latencyMs: number, options: FaultRuleOptions = {}): FaultHandle {
    return this.add({ type: 'latency', latencyMs }, options, DATA_KINDS);
  }

  hang(options: FaultRuleOptions = {}): FaultHandle {
    return this.add({ type: 'hang' }, options, DATA_KINDS);
  }

  dropConnections(options: FaultRuleOptions = {}): FaultHandle {
    return this.add({ type: 'drop' }, options, DATA_KINDS);
  }

  clear(): void {
    this.rules = [];
  }

  get active(): boolean {
    return this.rules.length > 0;
  }

  private fire(rule: Rule): boolean {
    if (rule.fraction < 1 && this.random() >= rule.fraction) return false;
    rule.remaining--;
    this.firedCounts.set(rule.id, (this.firedCounts.get(rule.id) ?? 0) + 1);
    if (rule.remaining <= 0) this.rules = this.rules.filter((r) => r !== rule);
    return true;
  }

  /** The command-level action for a command of `kind` arriving at `node`, if any rule fires. */
  commandAction(node: number, kind: CommandKind): FaultAction | null {
    for (const rule of this.rules) {
      if (rule.action.type === 'record-error') continue;
      if (!rule.kinds.has(kind) || (rule.node !== undefined && rule.node !== node)) continue;
      if (this.fire(rule)) return rule.action;
    }
    return null;
  }

  /** The rc a record write at `node` must fail with, or 0. */
  recordWriteFailure(node: number): number {
    for (const rule of this.rules) {
      if (rule.action.type !== 'record-error') continue;
      if (rule.node !== undefined && rule.node !== node) continue;
      if (this.fire(rule)) return rule.action.resultCode;
    }
    return 0;
  }
}
