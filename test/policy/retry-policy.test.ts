import { expect } from 'chai';
import {
  DEFAULT_RETRY_POLICY,
  MAX_RETRY_DELAY_MS,
  RetryState,
  retriesExhaustedError,
  retryDelayMicros,
  timerSleep,
} from '../../src/worker/retry-policy.js';

describe('policy: retry backoff', () => {
  it('gives C\'s delays: 0, s, 2s, 4s, 8s, then gives up (defaults)', () => {
    const delays = [0, 1, 2, 3, 4, 5].map((done) => retryDelayMicros(DEFAULT_RETRY_POLICY, done));
    expect(delays).to.deep.equal([0, 150_000, 300_000, 600_000, 1_200_000, -1]);
  });

  it('follows --max-retries and --retry-scale-factor', () => {
    expect(retryDelayMicros({ maxRetries: 0, scaleFactorMicros: 1000 }, 0)).to.equal(-1);
    expect([0, 1, 2].map((done) => retryDelayMicros({ maxRetries: 2, scaleFactorMicros: 1000 }, done))).to.deep.equal([0, 1000, -1]);
    expect(retryDelayMicros({ maxRetries: 10, scaleFactorMicros: 0 }, 7)).to.equal(0);
    expect(retryDelayMicros({ maxRetries: 100, scaleFactorMicros: 150_000 }, 60)).to.equal(MAX_RETRY_DELAY_MS * 1000);
  });

  it('waits out each delay with the injected sleep and stops after the last retry', async () => {
    const slept: number[] = [];
    const state = new RetryState(DEFAULT_RETRY_POLICY, async (ms) => {
      slept.push(ms);
    });
    const answers: boolean[] = [];
    for (let i = 0; i < 7; i++) answers.push(await state.backoff());
    expect(answers).to.deep.equal([true, true, true, true, true, false, false]);
    expect(slept).to.deep.equal([150, 300, 600, 1200]);
    expect(state.retries).to.equal(5);
  });

  it('really sleeps with the timer sleep', async () => {
    const state = new RetryState({ maxRetries: 2, scaleFactorMicros: 30_000 }, timerSleep);
    const started = performance.now();
    expect(await state.backoff()).to.equal(true);
    expect(await state.backoff()).to.equal(true);
    expect(performance.now() - started).to.be.at.least(29);
    expect(await state.backoff()).to.equal(false);
  });

  it('stops with C\'s message, plus the last failure', () => {
    const batch = retriesExhaustedError('batch', 5, 'TIMEOUT (9)');
    expect(batch.code).to.equal('RETRIES_EXHAUSTED');
    expect(batch.message).to.equal('Max batch-write retries exceeded (5); last error: TIMEOUT (9)');
    expect(retriesExhaustedError('single', 3).message).to.equal('Max key-put retries exceeded (3)');
  });
});
