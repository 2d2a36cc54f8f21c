/**
 * How a restored record is written: the policy bits (from --unique / --replace / --no-generation)
 * and the TTL sent for the record's backup void time (with --extra-ttl).
 *
 * Both follow C asrestore 4.5.8 (batch_uploader.c `_init_batch_write_policy` /
 * `_init_key_put_policy`, dec_text.c `text_parse_expiration`), checked against its captured
 * requests (../shared/reference/wire/NOTES.md §5.2 and §6.3).
 */
import { AsrestoreError } from '../shared/errors.js';
import { CITRUSLEAF_EPOCH, TTL_NEVER_EXPIRE } from '../shared/aerospike/protocol.js';
import { Info2, Info3, type WriteFlags } from '../shared/aerospike/write-flags.js';

export interface WritePolicyOptions {
  /** -u/--unique: create only; existing records are left alone (KEY_EXISTS, counted "existed"). */
  unique: boolean;
  /** -r/--replace: replace the whole record instead of merging bins. */
  replace: boolean;
  /** -g/--no-generation: write whatever the server's generation is. */
  noGeneration: boolean;
}

/**
 * The flags of both write paths. They differ only in RESPOND_ALL_OPS, which a batch row always
 * carries (the C client's batch-write row) and a single put never does.
 * Captured: default batch row info2 0x89, single put 0x09; --unique row 0xa9;
 * --replace --no-generation row info2 0x81 + info3 0x10.
 */
export interface RestoreWriteFlags {
  /** For a row of a batch-index write (info1 BATCH, field 41). */
  batchRow: WriteFlags;
  /** For a single-record write (--disable-batch-writes, or a server without batch writes). */
  single: WriteFlags;
}

/** Throws when the options cannot go together (C refuses --unique with --replace or --no-generation). */
export function restoreWriteFlags(options: WritePolicyOptions): RestoreWriteFlags {
  if (options.unique && (options.replace || options.noGeneration)) {
    throw new AsrestoreError(
      'INVALID_OPTIONS',
      'Invalid options: --unique is mutually exclusive with --replace and --no-generation.',
    );
  }
  // C: gen policy GT unless --no-generation; exists policy CREATE (--unique), else
  // CREATE_OR_REPLACE (--replace), else IGNORE (no bit). The C client puts CREATE in info2 and
  // CREATE_OR_REPLACE in info3.
  let info2 = Info2.WRITE;
  let info3 = 0;
  if (!options.noGeneration) info2 |= Info2.GENERATION_GT;
  if (options.unique) info2 |= Info2.CREATE_ONLY;
  else if (options.replace) info3 |= Info3.CREATE_OR_REPLACE;
  return {
    batchRow: { info2: info2 | Info2.RESPOND_ALL_OPS, info3 },
    single: { info2, info3 },
  };
}

/** What {@link ttlFor} returns for a record whose void time (plus --extra-ttl) has passed. */
export const TTL_EXPIRED = -1;

/**
 * The largest TTL we send. The two values above it mean "never expire" and "keep the current TTL"
 * on the wire; a computed TTL that large (only reachable with absurd void times plus a huge
 * --extra-ttl) is clamped so it stays an ordinary TTL, which the server then rejects as above its
 * 10-year maximum instead of silently making the record immortal.
 */
export const TTL_MAX_SENDABLE = 0xfffffffd;

/**
 * The record TTL to send for a backup void time, or {@link TTL_EXPIRED} (-1) when the record has
 * expired and must be counted, not sent.
 *
 * - void time 0 (never expires) → 0xFFFFFFFF; --extra-ttl is not applied.
 * - otherwise v = voidTime + extraTtl; now >= v → expired; else v - now.
 *
 * C does this in uint32 arithmetic, so `void + extra` above 2^32 - 1 wraps there; we compute
 * exactly instead (identical results for every void time a server can produce). Pure and
 * allocation-free: the engine calls it once per record.
 *
 * @param voidTime seconds since 2010-01-01T00:00:00Z, 0..2^32-1, as in `+ t`
 * @param extraTtl --extra-ttl seconds, 0..2^31-1
 * @param now the current time in seconds since 2010-01-01T00:00:00Z
 */
export function ttlFor(voidTime: number, extraTtl: number, now: number): number {
  if (voidTime === 0) return TTL_NEVER_EXPIRE;
  const remaining = voidTime + extraTtl - now;
  if (remaining <= 0) return TTL_EXPIRED;
  return remaining > TTL_MAX_SENDABLE ? TTL_MAX_SENDABLE : remaining;
}

/**
 * Whole seconds since 2010-01-01T00:00:00Z (C `cf_secs_since_clepoch`, read per record at decode
 * time). A clock read costs ~70 ns on a VM (ttlFor itself ~5 ns), so the engine may read it once
 * per decoded chunk and pass it to every record of that chunk: within one synchronous chunk the
 * value can only lag by the chunk's decode time, far below the 1-second resolution.
 */
export function citrusleafNow(): number {
  return Math.floor(Date.now() / 1000) - CITRUSLEAF_EPOCH;
}
