import { expect } from 'chai';
import { CITRUSLEAF_EPOCH } from '../../src/shared/aerospike/protocol.js';
import { sendsGeneration } from '../../src/shared/aerospike/write-flags.js';
import { AsrestoreError } from '../../src/shared/errors.js';
import {
  TTL_EXPIRED,
  TTL_MAX_SENDABLE,
  citrusleafNow,
  restoreWriteFlags,
  ttlFor,
} from '../../src/worker/write-policy.js';

const none = { unique: false, replace: false, noGeneration: false };

describe('policy: write flags', () => {
  it('matches the bits C asrestore 4.5.8 sent (NOTES §5.2, §6.3)', () => {
    // e1 default batch row 0x89, e2 single put 0x09.
    expect(restoreWriteFlags(none)).to.deep.equal({ batchRow: { info2: 0x89, info3: 0 }, single: { info2: 0x09, info3: 0 } });
    // e4 --unique: row 0xa9 (GEN_GT + CREATE_ONLY).
    expect(restoreWriteFlags({ ...none, unique: true }).batchRow).to.deep.equal({ info2: 0xa9, info3: 0 });
    expect(restoreWriteFlags({ ...none, unique: true }).single).to.deep.equal({ info2: 0x29, info3: 0 });
    // e3 --replace --no-generation: row 0x81 + info3 CREATE_OR_REPLACE 0x10.
    expect(restoreWriteFlags({ ...none, replace: true, noGeneration: true }).batchRow).to.deep.equal({ info2: 0x81, info3: 0x10 });
    expect(restoreWriteFlags({ ...none, replace: true }).batchRow).to.deep.equal({ info2: 0x89, info3: 0x10 });
    expect(restoreWriteFlags({ ...none, noGeneration: true }).single).to.deep.equal({ info2: 0x01, info3: 0 });
  });

  it('sends the backup generation exactly when a gen policy is on', () => {
    expect(sendsGeneration(restoreWriteFlags(none).batchRow)).to.equal(true);
    expect(sendsGeneration(restoreWriteFlags({ ...none, noGeneration: true }).single)).to.equal(false);
  });

  it('refuses --unique with --replace or --no-generation, with C\'s message', () => {
    for (const options of [
      { ...none, unique: true, replace: true },
      { ...none, unique: true, noGeneration: true },
    ]) {
      expect(() => restoreWriteFlags(options))
        .to.throw(AsrestoreError, 'Invalid options: --unique is mutually exclusive with --replace and --no-generation.')
        .with.property('code', 'INVALID_OPTIONS');
    }
  });
});

describe('policy: TTL from void time (A.8)', () => {
  const now = 500_000_000;

  it('never expires a record with void time 0, whatever --extra-ttl', () => {
    expect(ttlFor(0, 0, now)).to.equal(0xffffffff);
    expect(ttlFor(0, 1000, now)).to.equal(0xffffffff);
  });

  it('sends the seconds left, plus --extra-ttl', () => {
    expect(ttlFor(now + 3600, 0, now)).to.equal(3600);
    expect(ttlFor(now + 1, 0, now)).to.equal(1);
    expect(ttlFor(now - 100, 101, now)).to.equal(1);
    expect(ttlFor(now + 315_358_835, 0, now)).to.equal(315_358_835);
  });

  it('expires a record whose void time (plus --extra-ttl) is now or past', () => {
    expect(ttlFor(now, 0, now)).to.equal(TTL_EXPIRED);
    expect(ttlFor(now - 1, 0, now)).to.equal(TTL_EXPIRED);
    expect(ttlFor(now - 100, 100, now)).to.equal(TTL_EXPIRED);
    expect(ttlFor(1, 0, now)).to.equal(-1);
  });

  it('never turns a huge TTL into the "never expire" or "keep TTL" values', () => {
    expect(ttlFor(0xffffffff, 0x7fffffff, 1)).to.equal(TTL_MAX_SENDABLE);
    expect(ttlFor(0xffffffff, 0, 1)).to.equal(TTL_MAX_SENDABLE);
    expect(ttlFor(0xfffffffe, 0, 1)).to.equal(0xfffffffd);
    expect(ttlFor(0xfffffffe, 0, 2)).to.equal(0xfffffffc);
  });

  it('reads "now" in 2010-epoch seconds', () => {
    const expected = Math.floor(Date.now() / 1000) - CITRUSLEAF_EPOCH;
    expect(citrusleafNow()).to.be.within(expected, expected + 1);
  });
});
