// Writing a dead letter must not fail the event: on a storage error keep trying, with backoff, until it is stored or we stop.
import type { DeadLetter, DeadLetterStore } from './store.ts';
import { backoffDelay } from '../delivery/policy.ts';

/** Backoff for a failing DLQ write (disk full, I/O error). */
const APPEND_RETRY = { initialDelayMs: 100, maxDelayMs: 30_000 };

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Append `rec`, retrying failed writes with backoff. Resolves true once it is stored, false if `signal` aborted first.
 * @example
 * if (await appendUntilStored(store, rec, { signal, onError: (err, n) => log.error({ err, n }, 'DLQ write failed') })) onSettled();
 */
export async function appendUntilStored(
  store: Pick<DeadLetterStore, 'append'>,
  rec: DeadLetter,
  opts: { signal: AbortSignal; random?: () => number; onError?: (err: unknown, tries: number) => void },
): Promise<boolean> {
  for (let n = 1; ; n++) {
    try {
      await store.append(rec);
      return true;
    } catch (err) {
      if (opts.signal.aborted) return false;
      opts.onError?.(err, n);
      await sleep(backoffDelay(n, APPEND_RETRY, opts.random), opts.signal);
      if (opts.signal.aborted) return false;
    }
  }
}
