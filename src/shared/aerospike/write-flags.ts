import { Info2, Info3 } from './protocol.js';

/**
 * The policy bits of a record write, as they go into a single-record AS_MSG header or a batch row.
 * When info2 has GENERATION or GENERATION_GT, the record's backup generation is sent as the
 * expected generation; otherwise generation 0 is sent.
 */
export interface WriteFlags {
  info2: number;
  info3: number;
}

export function sendsGeneration(flags: WriteFlags): boolean {
  return (flags.info2 & (Info2.GENERATION | Info2.GENERATION_GT)) !== 0;
}

export { Info2, Info3 };
