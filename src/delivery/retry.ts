// Retry policy as pure functions: how long to wait before the next attempt, and what a send's result means for the lane.
import type { LaneSpec } from '../pipelines/table.ts';
import type { SendOutcome } from '../sinks/define.ts';

/** What the lane does with one attempt's result. */
export type Verdict =
  { kind: 'ok' } | { kind: 'retry' | 'permanent'; error: string; status?: number; retryAfterMs?: number };

/** One attempt's raw result: what `send` resolved with, or what it threw. */
export type AttemptResult = { outcome: SendOutcome | void } | { thrown: unknown };

/**
 * Wait before attempt `attempt + 1`, where `attempt` counts the failures so far (1 = after the first failure).
 * Full jitter: uniform in [0, min(maxDelay, initialDelay * 2^(attempt-1))], so many failing senders spread out
 * instead of retrying in lockstep. A destination's Retry-After is a floor (capped by maxDelay, so a hostile
 * header cannot park a lane for days).
 * @example
 * backoffDelay(3, { attempts: 8, initialDelayMs: 500, maxDelayMs: 300_000 }) // somewhere in 0..2000
 */
export function backoffDelay(
  attempt: number,
  policy: LaneSpec['retry'],
  random: () => number = Math.random,
  retryAfterMs?: number,
): number {
  const exp = Math.max(0, Math.floor(attempt) - 1);
  // 2^exp overflows to Infinity for large exp; min() then keeps it at maxDelay.
  const bound = Math.max(0, Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** exp));
  const r = random();
  const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  const jittered = Math.min(bound, Math.floor(unit * (bound + 1)));
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs) || retryAfterMs <= 0) return jittered;
  return Math.max(jittered, Math.min(Math.ceil(retryAfterMs), policy.maxDelayMs));
}

function describe(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message || thrown.name;
  return typeof thrown === 'string' ? thrown : 'sink threw a non-error value';
}

/**
 * Classify one attempt. A thrown error is retryable (sinks should report, not throw, but a crash in a plugin
 * must not lose the event); a sink that resolves with nothing delivered; an outcome of an unknown shape is retried.
 * @example
 * classify({ outcome: { ok: false, retryable: false, error: 'HTTP 400', status: 400 } }) // { kind: 'permanent', ... }
 */
export function classify(result: AttemptResult): Verdict {
  if ('thrown' in result) return { kind: 'retry', error: describe(result.thrown) };
  const outcome = result.outcome;
  if (outcome === undefined || outcome === null) return { kind: 'ok' };
  if (typeof outcome !== 'object' || typeof (outcome as { ok?: unknown }).ok !== 'boolean') {
    return { kind: 'retry', error: 'sink returned an invalid outcome' };
  }
  if (outcome.ok) return { kind: 'ok' };
  const verdict: Verdict = {
    kind: outcome.retryable === false ? 'permanent' : 'retry',
    error: String(outcome.error ?? 'send failed'),
  };
  if (typeof outcome.status === 'number') verdict.status = outcome.status;
  if (
    verdict.kind === 'retry' &&
    typeof outcome.retryAfterMs === 'number' &&
    Number.isFinite(outcome.retryAfterMs) &&
    outcome.retryAfterMs > 0
  ) {
    verdict.retryAfterMs = outcome.retryAfterMs;
  }
  return verdict;
}
