// One send attempt, bounded: raced against a safety timeout and shutdown so a sink that ignores its signal cannot stall a lane.
// Attempts that start within the same short window share one timer (a coarse timeout wheel): the lane timeout is a
// safety net of minutes, so firing up to a tenth of it late costs nothing, while a timer and two abort listeners per
// delivery were a measurable part of the delivery path. Each attempt still gets its own signal.
import type { DeliveryMeta, SendOutcome, SinkInstance } from '../sinks/define.ts';
import type { AttemptResult } from './verdict.ts';

export interface AttemptRun {
  /** The attempt's result: the sink's answer, or `{ thrown }` on timeout or shutdown (the sink's signal is then aborted). */
  result: Promise<AttemptResult>;
  /** Settles when the sink's own `send` has returned, which may be later than `result` for a sink that ignores its signal. */
  sent: Promise<unknown>;
}

export interface AttemptLimits {
  /** An attempt is cut off after at least this long, and at most a tenth (or one second) more. */
  timeoutMs: number;
  shutdown: AbortSignal;
  now?: () => number;
}

interface Running {
  readonly ctl: AbortController;
  readonly settle: (r: AttemptResult) => void;
}

/** Attempts started in one window: one timer aborts those still running when the last of them reaches its timeout. */
interface Slot {
  readonly endsAt: number;
  readonly running: Set<Running>;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Runs a lane's attempts.
 * @example
 * const attempts = new AttemptRunner({ timeoutMs: 300_000, shutdown: controller.signal });
 * const verdict = classify(await attempts.send(sink, payload, meta).result);
 */
export class AttemptRunner {
  private current: Slot | undefined;
  /** Slots with attempts running or a live timer, so shutdown can abort them. */
  private readonly live = new Set<Slot>();
  private readonly width: number;
  private readonly now: () => number;

  constructor(private readonly limits: AttemptLimits) {
    this.width = Math.max(1, Math.min(1000, Math.floor(limits.timeoutMs / 10)));
    this.now = limits.now ?? performance.now.bind(performance);
    limits.shutdown.addEventListener(
      'abort',
      () => {
        for (const slot of [...this.live]) {
          this.abortAll(slot, limits.shutdown.reason);
          this.drop(slot);
        }
      },
      { once: true },
    );
  }

  /** Call `sink.send` once with a signal of its own that fires after the timeout or at shutdown. */
  send(sink: SinkInstance, payload: unknown, meta: DeliveryMeta): AttemptRun {
    return this.run((signal) => sink.send(payload, meta, signal));
  }

  /** Run one attempt of any shape (a batch send, say) under the same timeout and shutdown rules as `send`. */
  run(call: (signal: AbortSignal) => Promise<SendOutcome | void>): AttemptRun {
    const slot = this.enter();
    let settle!: (r: AttemptResult) => void;
    const result = new Promise<AttemptResult>((resolve) => (settle = resolve));
    const run: Running = { ctl: new AbortController(), settle };
    slot.running.add(run);
    const sent = callSend(call, run.ctl.signal);
    void sent.then((r) => {
      if (slot.running.delete(run)) {
        settle(r);
        this.leave(slot);
      }
    });
    return { result, sent };
  }

  private enter(): Slot {
    const slot = this.current;
    if (slot && this.now() < slot.endsAt) {
      if (slot.running.size === 0) slot.timer?.ref();
      return slot;
    }
    if (slot && slot.running.size === 0) this.drop(slot);
    const next: Slot = { endsAt: this.now() + this.width, running: new Set(), timer: undefined };
    // Every attempt of the slot starts before endsAt, so each gets at least timeoutMs.
    next.timer = setTimeout(() => {
      this.abortAll(next, new Error(`no answer within ${this.limits.timeoutMs} ms (lane timeout)`));
      this.drop(next);
    }, this.width + this.limits.timeoutMs);
    this.live.add(next);
    this.current = next;
    return next;
  }

  /** Abort every attempt still running in the slot: its result is the reason; its `sent` waits for the sink. */
  private abortAll(slot: Slot, reason: unknown): void {
    const runs = [...slot.running];
    slot.running.clear();
    for (const run of runs) {
      run.ctl.abort(reason);
      run.settle({ thrown: reason });
    }
    this.leave(slot);
  }

  private leave(slot: Slot): void {
    if (slot.running.size > 0) return;
    if (slot === this.current)
      slot.timer?.unref(); // kept for the next attempt in its window
    else this.drop(slot);
  }

  private drop(slot: Slot): void {
    clearTimeout(slot.timer);
    slot.timer = undefined;
    this.live.delete(slot);
    if (this.current === slot) this.current = undefined;
  }
}

async function callSend(
  call: (signal: AbortSignal) => Promise<SendOutcome | void>,
  signal: AbortSignal,
): Promise<AttemptResult> {
  try {
    return { outcome: await call(signal) };
  } catch (thrown) {
    return { thrown };
  }
}

/**
 * One attempt on its own (a lane keeps one AttemptRunner instead).
 * @example
 * const { result } = sendAttempt(sink, payload, meta, { timeoutMs: 300_000, shutdown: controller.signal });
 * const verdict = classify(await result);
 */
export function sendAttempt(
  sink: SinkInstance,
  payload: unknown,
  meta: DeliveryMeta,
  limits: AttemptLimits,
): AttemptRun {
  return new AttemptRunner(limits).send(sink, payload, meta);
}
