// One send attempt, bounded: raced against a safety timeout and shutdown so a sink that ignores its signal cannot stall a lane.
import type { DeliveryMeta, SinkInstance } from '../sinks/define.ts';
import type { AttemptResult } from './retry.ts';

export interface AttemptRun {
  /** The attempt's result: the sink's answer, or `{ thrown }` on timeout or shutdown (the sink's signal is then aborted). */
  result: Promise<AttemptResult>;
  /** Settles when the sink's own `send` has returned, which may be later than `result` for a sink that ignores its signal. */
  sent: Promise<unknown>;
}

/**
 * Call `sink.send` once with an AbortSignal that fires after `timeoutMs` or when `shutdown` aborts.
 * @example
 * const { result } = sendAttempt(sink, payload, meta, { timeoutMs: 300_000, shutdown: controller.signal });
 * const verdict = classify(await result);
 */
export function sendAttempt(sink: SinkInstance, payload: unknown, meta: DeliveryMeta, opts: { timeoutMs: number; shutdown: AbortSignal }): AttemptRun {
  const ctl = new AbortController();
  const onShutdown = () => ctl.abort(opts.shutdown.reason);
  opts.shutdown.addEventListener('abort', onShutdown, { once: true });
  const timer = setTimeout(() => ctl.abort(new Error(`no answer within ${opts.timeoutMs} ms (lane timeout)`)), opts.timeoutMs);
  const stopped = new Promise<AttemptResult>((resolve) => ctl.signal.addEventListener('abort', () => resolve({ thrown: ctl.signal.reason }), { once: true }));
  const sent = Promise.resolve()
    .then(() => sink.send(payload, meta, ctl.signal))
    .then(
      (outcome): AttemptResult => ({ outcome }),
      (thrown: unknown): AttemptResult => ({ thrown }),
    );
  const result = Promise.race([sent, stopped]).finally(() => {
    clearTimeout(timer);
    opts.shutdown.removeEventListener('abort', onShutdown);
  });
  return { result, sent };
}
