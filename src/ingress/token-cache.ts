// Bounded least-recently-used map of token digests to verdicts with an expiry, so a blast re-uses one signature check.
import { hash } from 'node:crypto';

/**
 * The cache key of a token: its SHA-256. The token itself is never kept, and a lookup's timing can only tell something
 * about a digest, which no one can steer towards a valid token.
 */
export function tokenKey(token: string): string {
  // One-shot `hash` is about twice as fast as createHash().update().digest() for a token-sized input.
  return hash('sha256', token, 'base64');
}

/**
 * Entries expire at their own time and the least recently used one goes when full.
 *
 * @example
 * const cache = new ExpiringLru<true>(10_000);
 * cache.set(tokenKey(token), true, expMs);
 * cache.get(tokenKey(token), Date.now()); // true until expMs, then undefined
 */
export class ExpiringLru<V> {
  // A Map iterates in insertion order: re-inserting on a hit makes the first key the least recently used.
  private readonly entries = new Map<string, { value: V; until: number }>();

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The value, or undefined when absent or expired at `now` (an expired entry is dropped). */
  get(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.until <= now) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Keep `value` until `until` (ms since the epoch). */
  set(key: string, value: V, until: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, until });
  }

  clear(): void {
    this.entries.clear();
  }
}
