// Model-based crash test of the journal and delivery state: random sequences of accept, deliver, fail, dead-letter,
// reload (lanes added and removed), disk faults, restart and crash (files cut anywhere past what fsync made durable),
// segments rolling every few events, each checked against a simple model after every restart. A failure prints the
// shrunk sequence: add it to model-regressions.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { opsArbitrary, runSequence } from '../fixtures/delivery-model.ts';

/** Up to this many sequences (MODEL_RUNS overrides, e.g. 20000 for a long hunt; MODEL_SEED replays a run)... */
const RUNS = Number(process.env.MODEL_RUNS ?? 5000);
/** ...within this much time, so the suite stays about a minute longer at most (MODEL_BUDGET_MS overrides). */
const BUDGET_MS = Number(process.env.MODEL_BUDGET_MS ?? 45_000);
/** Fewer than this in the budget means the machine is too slow for the test to mean much: fail rather than pass. */
const MIN_RUNS = Math.min(RUNS, 100);

test('the engine agrees with the model after every crash and restart, over random sequences', async (t) => {
  const started = performance.now();
  const details = await fc.check(
    fc.asyncProperty(opsArbitrary, fc.integer({ min: 3, max: 12 }), async (ops, quarterKb) => {
      await runSequence(ops, { segmentBytes: quarterKb * 256 });
    }),
    {
      numRuns: RUNS,
      interruptAfterTimeLimit: BUDGET_MS,
      markInterruptAsFailure: false,
      ...(process.env.MODEL_SEED !== undefined && { seed: Number(process.env.MODEL_SEED) }),
    },
  );
  if (details.failed) {
    const [ops, quarterKb] = details.counterexample ?? [];
    assert.fail(
      `${fc.defaultReportMessage(details)}\nregression case for model-regressions.test.ts:\n` +
        JSON.stringify({ segmentBytes: (quarterKb as number) * 256, ops }),
    );
  }
  const ms = Math.round(performance.now() - started);
  t.diagnostic(`${details.numRuns} sequences in ${ms} ms (seed ${details.seed})`);
  assert.ok(details.numRuns >= MIN_RUNS, `only ${details.numRuns} sequences ran in ${BUDGET_MS} ms`);
});
