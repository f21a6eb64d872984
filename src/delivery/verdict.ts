// What one send's result means for the lane: delivered, retry, or a permanent refusal (a pure function).
import type { SendOutcome } from '../sinks/define.ts';

/** What the lane does with one attempt's result. */
export type Verdict =
  { kind: 'ok' } | { kind: 'retry' | 'permanent'; error: string; status?: number; retryAfterMs?: number };

/** One attempt's raw result: what `send` resolved with, or what it threw. */
export type AttemptResult = { outcome: SendOutcome | void } | { thrown: unknown };

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
