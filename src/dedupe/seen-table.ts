// One pipeline's seen dedupe keys in memory: 64-bit key hashes in typed arrays, oldest first, so memory is fixed per key.
/** Bytes of memory per key held at full capacity: hash (8), first event id (8), expiry (8), and the hash index (8). */
export const BYTES_PER_KEY = 32;

const MIN_CAPACITY = 1024;

/** A key as the table keeps it: the two halves of its 64-bit hash. */
export interface KeyHash {
  hi: number;
  lo: number;
}

/**
 * A bounded set of key hashes in insertion order (a ring), each with the event that first carried it and when that
 * sighting expires, plus an open-addressing index (linear probing, backward-shift deletion) from hash to ring slot.
 * At most `maxKeys` are held: a full table forgets its oldest key first (counted in `evicted`). Expired keys are let go
 * from the old end as new ones come in; a lookup never answers with an expired one.
 * @example
 * const t = new SeenTable(1_000_000);
 * t.remember({ hi: 1, lo: 2 }, 7, Date.now() + 86_400_000, Date.now());
 * t.firstEvent({ hi: 1, lo: 2 }, Date.now()); // 7
 */
export class SeenTable {
  private capacity = 0;
  private hi = new Uint32Array(0);
  private lo = new Uint32Array(0);
  private ids = new Float64Array(0);
  private expires = new Float64Array(0);
  /** Ring slot + 1 per index position; 0 is empty. */
  private index = new Int32Array(0);
  private mask = 0;
  /** Ring position of the oldest key, and the number held. */
  private tail = 0;
  private count = 0;
  /** Keys let go before their window ended because the table was full. */
  evicted = 0;

  constructor(private maxKeys: number) {}

  get size(): number {
    return this.count;
  }

  /** Typed-array bytes in use now (grows by doubling up to `maxKeys`). */
  get bytes(): number {
    return this.capacity * 24 + this.index.length * 4;
  }

  /** The id of the event that first carried `key`, if that sighting has not expired at `now`. */
  firstEvent(key: KeyHash, now: number): number | undefined {
    const slot = this.find(key);
    return slot >= 0 && this.expires[slot]! > now ? this.ids[slot] : undefined;
  }

  /** Hold `key` as first seen in `eventId` until `expiresAt`; an expired entry for the same key is replaced. */
  remember(key: KeyHash, eventId: number, expiresAt: number, now: number): void {
    this.expire(now);
    const existing = this.find(key);
    if (existing >= 0) {
      if (this.expires[existing]! > now) return; // the first sighting stands
      this.unindex(existing); // its ring slot stays until it is the oldest; popping it then finds nothing to unindex
    }
    if (this.count >= this.maxKeys) {
      this.pop();
      this.evicted++;
    }
    if (this.count >= this.capacity) this.resize(Math.min(this.maxKeys, Math.max(MIN_CAPACITY, this.capacity * 2)));
    const slot = (this.tail + this.count) % this.capacity;
    this.hi[slot] = key.hi >>> 0;
    this.lo[slot] = key.lo >>> 0;
    this.ids[slot] = eventId;
    this.expires[slot] = expiresAt;
    this.count++;
    let i = key.lo & this.mask;
    while (this.index[i] !== 0) i = (i + 1) & this.mask;
    this.index[i] = slot + 1;
  }

  /** Hold at most `maxKeys` from now on (the oldest go first when it shrinks). */
  setMaxKeys(maxKeys: number): void {
    this.maxKeys = maxKeys;
    while (this.count > maxKeys) {
      this.pop();
      this.evicted++;
    }
    if (this.capacity > maxKeys) this.resize(Math.max(this.count, Math.min(maxKeys, MIN_CAPACITY)));
  }

  /** Let go of keys from the oldest end while they have expired. */
  expire(now: number): void {
    while (this.count > 0 && this.expires[this.tail]! <= now) this.pop();
  }

  private pop(): void {
    const slot = this.tail;
    const at = this.indexOf(slot);
    if (at >= 0) this.deleteAt(at);
    this.tail = (this.tail + 1) % this.capacity;
    this.count--;
  }

  /** Ring slot holding `key`, or -1. */
  private find(key: KeyHash): number {
    if (this.capacity === 0) return -1;
    const hi = key.hi >>> 0;
    const lo = key.lo >>> 0;
    for (let i = lo & this.mask; ; i = (i + 1) & this.mask) {
      const v = this.index[i]!;
      if (v === 0) return -1;
      if (this.lo[v - 1] === lo && this.hi[v - 1] === hi) return v - 1;
    }
  }

  /** Index position pointing at ring `slot`, or -1 (already unindexed). */
  private indexOf(slot: number): number {
    for (let i = this.lo[slot]! & this.mask; ; i = (i + 1) & this.mask) {
      const v = this.index[i]!;
      if (v === 0) return -1;
      if (v === slot + 1) return i;
    }
  }

  private unindex(slot: number): void {
    const at = this.indexOf(slot);
    if (at >= 0) this.deleteAt(at);
  }

  /** Backward-shift deletion: later entries of the probe run move up, so lookups never need tombstones. */
  private deleteAt(hole: number): void {
    let i = hole;
    for (let j = (i + 1) & this.mask; this.index[j] !== 0; j = (j + 1) & this.mask) {
      const home = this.lo[this.index[j]! - 1]! & this.mask;
      // Move j into the hole when its home position is not cyclically within (i, j].
      const between = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!between) {
        this.index[i] = this.index[j]!;
        i = j;
      }
    }
    this.index[i] = 0;
  }

  /** Lay the ring out afresh from slot 0 with room for `capacity` keys, and rebuild the index (load at most 1/2). */
  private resize(capacity: number): void {
    const hi = new Uint32Array(capacity);
    const lo = new Uint32Array(capacity);
    const ids = new Float64Array(capacity);
    const expires = new Float64Array(capacity);
    let size = 1;
    while (size < capacity * 2) size <<= 1;
    const index = new Int32Array(size);
    const mask = size - 1;
    let n = 0;
    for (let k = 0; k < this.count; k++) {
      const from = (this.tail + k) % this.capacity;
      hi[n] = this.hi[from]!;
      lo[n] = this.lo[from]!;
      ids[n] = this.ids[from]!;
      expires[n] = this.expires[from]!;
      // An entry replaced by a newer sighting (unindexed) keeps its place in the ring but gets no index entry.
      if (this.indexOf(from) >= 0) {
        let i = lo[n]! & mask;
        while (index[i] !== 0) i = (i + 1) & mask;
        index[i] = n + 1;
      }
      n++;
    }
    Object.assign(this, { hi, lo, ids, expires, index, mask, capacity, tail: 0 });
  }
}
