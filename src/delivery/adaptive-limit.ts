// Adaptive request concurrency (after Vector's ARC): additive increase while round trips stay near their EWMA baseline,
// multiplicative decrease on back pressure (429, 5xx, timeouts, network errors) or a round trip well above baseline.

/** Weight of the newest window in the baseline (Vector's `ewma_alpha`). */
const EWMA_ALPHA = 0.4;
/** A window's mean round trip this many standard deviations above baseline counts as back pressure. */
const RTT_DEVIATION_SCALE = 2.5;
/** ...and at least this share of the baseline, so a perfectly steady destination does not read jitter as load. */
const MIN_THRESHOLD_SHARE = 0.1;
const MIN_THRESHOLD_MS = 1;
/** Multiplicative decrease. */
const DECREASE_RATIO = 0.9;

/** How one finished send bears on the limit. */
export type SendSignal = 'ok' | 'back_pressure' | 'refused';

export interface AdaptiveLimitState {
  limit: number;
  max: number;
  /** EWMA of the windows' mean round trip, once there is one. */
  baselineRttMs?: number;
  deviationRttMs?: number;
}

/**
 * The in-flight limit of one lane. Call `started` when a send begins (with the sends now in flight) and `finished`
 * when it ends; the limit is re-evaluated once per window of about one baseline round trip. Until the first decrease it
 * doubles per window (slow start, as in TCP), so a fresh lane reaches a far destination's capacity in a few round trips
 * instead of a hundred; from then on it grows by one.
 * @example
 * const limit = new AdaptiveLimit({ max: 128, onChange: (n) => (queue.concurrency = n) });
 * limit.started(inFlight); const t = performance.now(); const v = await send();
 * limit.finished(v.kind === 'ok' ? 'ok' : v.kind === 'retry' ? 'back_pressure' : 'refused', performance.now() - t);
 */
export class AdaptiveLimit {
  private current: number;
  private readonly max: number;
  private readonly now: () => number;
  private readonly onChange: (limit: number) => void;
  private mean: number | undefined;
  private variance = 0;
  private nextUpdate = 0;
  private windowSum = 0;
  private windowCount = 0;
  private backPressure = false;
  private reachedLimit = false;
  private slowStart = true;
  /** When the limit last went down: back pressure from sends started before then was already answered. */
  private decreasedAt = Number.NEGATIVE_INFINITY;

  constructor(opts: { max: number; initial?: number; now?: () => number; onChange?: (limit: number) => void }) {
    this.max = Math.max(1, opts.max);
    this.current = Math.min(this.max, Math.max(1, opts.initial ?? 1));
    this.now = opts.now ?? (() => performance.now());
    this.onChange = opts.onChange ?? (() => {});
  }

  get limit(): number {
    return this.current;
  }

  state(): AdaptiveLimitState {
    const s: AdaptiveLimitState = { limit: this.current, max: this.max };
    if (this.mean !== undefined) {
      s.baselineRttMs = round(this.mean);
      s.deviationRttMs = round(Math.sqrt(this.variance));
    }
    return s;
  }

  /** A send began; `inFlight` counts it. Reaching the limit is the evidence that a higher one would be used. */
  started(inFlight: number): void {
    if (inFlight >= this.current) this.reachedLimit = true;
  }

  /** A send ended. Only a delivered send's round trip is a latency sample (a refusal is quick and says nothing). */
  finished(signal: SendSignal, rttMs: number): void {
    const t = this.now();
    // One congestion event shrinks the limit once (as TCP does per round trip), not once per send that saw it.
    if (signal === 'back_pressure' && t - rttMs >= this.decreasedAt) this.backPressure = true;
    if (signal === 'ok' && Number.isFinite(rttMs) && rttMs >= 0) {
      this.windowSum += rttMs;
      this.windowCount++;
    }
    const windowMean = this.windowCount > 0 ? this.windowSum / this.windowCount : undefined;
    if (this.mean === undefined) {
      if (windowMean === undefined) {
        if (this.backPressure) this.adjust(undefined, t); // pushed back before any success: still back off
        return;
      }
      this.mean = windowMean;
      this.resetWindow(t);
      return;
    }
    if (t < this.nextUpdate) return;
    this.adjust(windowMean, t);
  }

  private adjust(windowMean: number | undefined, t: number): void {
    const before = this.current;
    const mean = this.mean;
    const threshold =
      mean === undefined
        ? 0
        : Math.max(RTT_DEVIATION_SCALE * Math.sqrt(this.variance), MIN_THRESHOLD_SHARE * mean, MIN_THRESHOLD_MS);
    const slow = mean !== undefined && windowMean !== undefined && windowMean >= mean + threshold;
    if (this.current > 1 && (this.backPressure || slow)) {
      this.current = Math.max(1, Math.min(this.current - 1, Math.floor(this.current * DECREASE_RATIO)));
      this.slowStart = false;
      this.decreasedAt = t;
    } else if (
      this.current < this.max &&
      this.reachedLimit &&
      !this.backPressure &&
      mean !== undefined &&
      windowMean !== undefined &&
      windowMean <= mean + threshold / 2
    ) {
      this.current = Math.min(this.max, this.slowStart ? this.current * 2 : this.current + 1);
    }
    if (windowMean !== undefined) {
      if (mean === undefined) this.mean = windowMean;
      else {
        const diff = windowMean - mean;
        const incr = EWMA_ALPHA * diff;
        this.mean = mean + incr;
        this.variance = (1 - EWMA_ALPHA) * (this.variance + diff * incr);
      }
    }
    this.resetWindow(t);
    if (this.current !== before) this.onChange(this.current);
  }

  private resetWindow(t: number): void {
    this.nextUpdate = t + Math.max(MIN_THRESHOLD_MS, this.mean ?? 0);
    this.windowSum = 0;
    this.windowCount = 0;
    this.backPressure = false;
    this.reachedLimit = false;
  }
}

const round = (n: number) => Math.round(n * 10) / 10;
