// Per-lane circuit breaker: after repeated failures the lane pauses, then probes with one delivery before resuming.
import type { BreakerPolicy } from './policy.ts';

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * Counts consecutive failed attempts. At `threshold` it opens; after `cooldownMs` one probe may pass (half-open);
 * the probe's success closes it, its failure re-opens it for another cooldown.
 * @example
 * const b = new Breaker({ threshold: 5, cooldownMs: 30_000 });
 * if (b.canPass()) { const ok = await send(); ok ? b.onSuccess() : b.onFailure(); } else wait(b.msUntilProbe());
 */
export class Breaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private listeners: ((state: BreakerState) => void)[] = [];

  constructor(
    private readonly policy: BreakerPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): BreakerState {
    return this.current;
  }

  /** Called on every state change (for logs, metrics and waking paused deliveries). */
  onStateChange(cb: (state: BreakerState) => void): void {
    this.listeners.push(cb);
  }

  /** Whether an attempt may start now. Moving from open to half-open hands out the single probe. */
  canPass(): boolean {
    if (this.current === 'closed') return true;
    if (this.current === 'open' && this.msUntilProbe() === 0) {
      this.set('half-open');
      return true;
    }
    return false; // open and cooling down, or half-open with the probe still out
  }

  /** The destination answered: any answer proves it is reachable, so the breaker closes. */
  onSuccess(): void {
    this.failures = 0;
    if (this.current !== 'closed') this.set('closed');
  }

  onFailure(): void {
    if (this.current === 'half-open') {
      this.open();
      return;
    }
    if (this.current === 'open') return; // a late result of an attempt started before opening
    this.failures++;
    if (this.failures >= this.policy.threshold) this.open();
  }

  /** Milliseconds until a probe may pass: 0 when closed or ready to probe; the cooldown while a probe is out. */
  msUntilProbe(): number {
    if (this.current === 'closed') return 0;
    if (this.current === 'half-open') return this.policy.cooldownMs;
    return Math.max(0, this.openedAt + this.policy.cooldownMs - this.now());
  }

  private open(): void {
    this.openedAt = this.now();
    this.failures = 0;
    this.set('open');
  }

  private set(state: BreakerState): void {
    this.current = state;
    for (const cb of this.listeners) cb(state);
  }
}
