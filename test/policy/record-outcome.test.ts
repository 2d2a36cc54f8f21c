import { expect } from 'chai';
import { Counter } from '../../src/shared/counters.js';
import {
  ClientStatus,
  CommandVerdict,
  RECORD_VERDICT_COUNTER,
  RecordVerdict,
  classifyCommandResult,
  classifyRecordResult,
  commandFailureError,
  describeStatus,
  isFatalRecordVerdict,
  recordFailureError,
} from '../../src/worker/record-outcome.js';

// NOTES §6.2, from batch_uploader.c `_categorize_write_result`.
const PROCEED = [0, -16, 3, 5, 10, 12, 13, 17, 19, 21, 22];
const FATAL = [4, 8, 16, 20, 25, 26, 27, 51, 52, 53, 54, 55, 56, 66, 70, 80, 81, 82, 160, 202, 203, -1, -2, -12, 150];
const RETRY_EXAMPLES = [1, 2, 7, 9, 11, 14, 18, 32, 83, 151, 152, 204, -4, -5, -6, -7, -8, -9, -10, -11, -14, -15];

describe('policy: command outcome', () => {
  it('goes on to the records for OK, batch-failed and record-specific codes', () => {
    for (const code of PROCEED) expect(classifyCommandResult(code), `code ${code}`).to.equal(CommandVerdict.PROCEED_TO_RECORDS);
  });

  it('stops the restore for codes that retrying cannot fix', () => {
    for (const code of FATAL) expect(classifyCommandResult(code), `code ${code}`).to.equal(CommandVerdict.FATAL);
  });

  it('retries everything else: timeouts, overload, busy keys, lost connections, ...', () => {
    for (const code of RETRY_EXAMPLES) expect(classifyCommandResult(code), `code ${code}`).to.equal(CommandVerdict.RETRY);
    expect(classifyCommandResult(ClientStatus.CONNECTION)).to.equal(CommandVerdict.RETRY);
  });

  it('hints at --disable-batch-writes for 150, with C\'s words', () => {
    const error = commandFailureError(150);
    expect(error.code).to.equal('BATCH_WRITES_DISABLED');
    expect(error.message).to.equal(
      'Batch writes appear to be disabled, turn them off by passing --disable-batch-writes to asrestore',
    );
  });

  it('names the code and what the client knows for other fatal codes', () => {
    expect(commandFailureError(20, 'namespace bar').message).to.equal(
      'Error while storing record - code 20 (INVALID_NAMESPACE): namespace bar',
    );
    expect(commandFailureError(-2).message).to.equal('Error while storing record - code -2 (PARAMETER)');
    expect(commandFailureError(4).code).to.equal('WRITE_FAILED');
  });
});

describe('policy: record outcome', () => {
  it('counts inserted, existed and fresher, and never retries them', () => {
    expect(classifyRecordResult(0)).to.equal(RecordVerdict.INSERTED);
    expect(classifyRecordResult(5)).to.equal(RecordVerdict.EXISTED);
    expect(classifyRecordResult(3)).to.equal(RecordVerdict.FRESHER);
  });

  it('treats the 7 record-specific codes as ignorable errors', () => {
    for (const code of [10, 12, 13, 17, 19, 21, 22]) expect(classifyRecordResult(code)).to.equal(RecordVerdict.IGNORABLE_ERROR);
  });

  it('retries only the transient per-record codes', () => {
    for (const code of [7, 9, 11, 14, 18, 32]) expect(classifyRecordResult(code), `code ${code}`).to.equal(RecordVerdict.RETRY);
  });

  it('stops for any other per-record code', () => {
    for (const code of [1, 2, 4, 6, 8, 20, 23, 26, 160, 255]) expect(classifyRecordResult(code), `code ${code}`).to.equal(RecordVerdict.FATAL);
  });

  it('maps verdicts to counters', () => {
    expect(RECORD_VERDICT_COUNTER[RecordVerdict.INSERTED]).to.equal(Counter.RECORDS_INSERTED);
    expect(RECORD_VERDICT_COUNTER[RecordVerdict.EXISTED]).to.equal(Counter.RECORDS_EXISTED);
    expect(RECORD_VERDICT_COUNTER[RecordVerdict.FRESHER]).to.equal(Counter.RECORDS_FRESHER);
    expect(RECORD_VERDICT_COUNTER[RecordVerdict.IGNORABLE_ERROR]).to.equal(Counter.RECORDS_IGNORED);
    expect(RECORD_VERDICT_COUNTER[RecordVerdict.RETRY]).to.equal(-1);
    expect(RECORD_VERDICT_COUNTER[RecordVerdict.FATAL]).to.equal(-1);
  });

  it('makes ignorable errors fatal without --ignore-record-error only', () => {
    expect(isFatalRecordVerdict(RecordVerdict.IGNORABLE_ERROR, false)).to.equal(true);
    expect(isFatalRecordVerdict(RecordVerdict.IGNORABLE_ERROR, true)).to.equal(false);
    expect(isFatalRecordVerdict(RecordVerdict.FATAL, true)).to.equal(true);
    for (const verdict of [RecordVerdict.INSERTED, RecordVerdict.EXISTED, RecordVerdict.FRESHER, RecordVerdict.RETRY]) {
      expect(isFatalRecordVerdict(verdict, false)).to.equal(false);
    }
  });

  it('says which record failed and how to go on', () => {
    const ignorable = recordFailureError(13, { file: 'backup/a.asb', line: 120 });
    expect(ignorable.code).to.equal('RECORD_ERROR');
    expect(ignorable.message).to.equal(
      'Error while storing record - code 13 (RECORD_TOO_BIG) (backup/a.asb, line 120)' +
        ' (pass --ignore-record-error to count such records as err_ignored and continue)',
    );
    expect(ignorable.file).to.equal('backup/a.asb');
    expect(ignorable.line).to.equal(120);
    const other = recordFailureError(2);
    expect(other.code).to.equal('WRITE_FAILED');
    expect(other.message).to.equal('Error while storing record - code 2 (KEY_NOT_FOUND)');
  });

  it('describes server and client codes', () => {
    expect(describeStatus(9)).to.equal('TIMEOUT (9)');
    expect(describeStatus(-10)).to.equal('CONNECTION (-10)');
    expect(describeStatus(999)).to.equal('UNKNOWN (999)');
  });
});
