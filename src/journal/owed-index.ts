// Which journaled events still owe which lane a delivery, in compact per-segment arrays so memory stays flat whatever the backlog.
import type { EventLocation } from './journal.ts';

/** `owed` value of an event that is journaled but not routed yet. */
const UNROUTED = 0xffff;

/** One journal segment's events: arrays indexed by `id - firstId` (ids without an event, e.g. quarantined ones, stay empty). */
class SegmentIndex {
  /** Slots in use: highest id seen minus firstId, plus one. */
  count = 0;
  offsets = new Uint32Array(64);
  sizes = new Uint32Array(64);
  /** Lanes still owed per event, or UNROUTED. */
  owed = new Uint16Array(64);
  /** Per lane key, one bit per event: still owed to that lane. */
  readonly lanes = new Map<string, Uint8Array>();
  /** Events not finished (owed or not routed yet). */
  pending = 0;

  constructor(
    readonly segment: number,
    readonly firstId: number,
  ) {}

  grow(slots: number): void {
    if (slots <= this.offsets.length) return;
    let cap = this.offsets.length;
    while (cap < slots) cap *= 2;
    const grown = <T extends Uint32Array | Uint16Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.offsets = grown(this.offsets, (n) => new Uint32Array(n));
    this.sizes = grown(this.sizes, (n) => new Uint32Array(n));
    this.owed = grown(this.owed, (n) => new Uint16Array(n));
    for (const [lane, bits] of this.lanes) this.lanes.set(lane, growBits(bits, cap));
  }

  bits(lane: string, create: boolean): Uint8Array | undefined {
    let b = this.lanes.get(lane);
    if (!b && create) {
      b = new Uint8Array(this.offsets.length >> 3);
      this.lanes.set(lane, b);
    }
    return b;
  }
}

function growBits(bits: Uint8Array, slots: number): Uint8Array {
  const b = new Uint8Array(slots >> 3);
  b.set(bits);
  return b;
}

/**
 * The delivery state of every journaled event: 4+4+2 bytes per event plus one bit per (event, lane).
 * @example
 * index.addEvent(7, location);
 * index.setRouted(7, ['alerts/slack']);
 * index.finish(7, 'alerts/slack'); // true: event 7 is now finished
 */
export class OwedIndex {
  /** Segments holding events, ascending (so are their first ids). */
  private readonly segments: SegmentIndex[] = [];
  private readonly laneOwed = new Map<string, number>();
  private pendingCount = 0;
  /**
   * Lanes that finished an event before its routing was known: a ROUTED write that failed (and was refused) while a
   * later DONE succeeded, met in that order by recovery. Honoured when the event is routed, so it is not redelivered.
   */
  private readonly doneBeforeRouted = new Map<number, Set<string>>();

  /** Events with deliveries owed or routing still to do. */
  get pendingEvents(): number {
    return this.pendingCount;
  }

  /** Deliveries owed by one lane (on disk and in memory). */
  owedBy(lane: string): number {
    return this.laneOwed.get(lane) ?? 0;
  }

  /** Every lane key that is owed at least one delivery. */
  owingLanes(): string[] {
    return [...this.laneOwed].filter(([, n]) => n > 0).map(([k]) => k);
  }

  /** Lowest event id still indexed (where a recovered lane starts reading), or undefined. */
  get firstId(): number | undefined {
    return this.segments[0]?.firstId;
  }

  /** Record a journaled, not yet routed event. Ids must increase. */
  addEvent(id: number, loc: EventLocation): void {
    let seg = this.segments.at(-1);
    if (!seg || seg.segment !== loc.segment) {
      seg = new SegmentIndex(loc.segment, id);
      this.segments.push(seg);
    }
    const slot = id - seg.firstId;
    seg.grow(slot + 1);
    seg.count = Math.max(seg.count, slot + 1);
    seg.offsets[slot] = loc.offset;
    seg.sizes[slot] = loc.size;
    seg.owed[slot] = UNROUTED;
    seg.pending++;
    this.pendingCount++;
  }

  private find(id: number): { seg: SegmentIndex; slot: number } | undefined {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const seg = this.segments[mid]!;
      if (id < seg.firstId) hi = mid - 1;
      else if (id >= seg.firstId + seg.count) lo = mid + 1;
      else return seg.sizes[id - seg.firstId] ? { seg, slot: id - seg.firstId } : undefined;
    }
    return undefined;
  }

  /** Where an indexed event is on disk. */
  location(id: number): EventLocation | undefined {
    const f = this.find(id);
    return f && { segment: f.seg.segment, offset: f.seg.offsets[f.slot]!, size: f.seg.sizes[f.slot]! };
  }

  isRouted(id: number): boolean {
    const f = this.find(id);
    return f !== undefined && f.seg.owed[f.slot] !== UNROUTED;
  }

  /** Record the lanes an event owes. False (and no change) for an unknown or already routed event. */
  setRouted(id: number, lanes: string[]): boolean {
    const f = this.find(id);
    if (!f || f.seg.owed[f.slot] !== UNROUTED) return false;
    const done = this.doneBeforeRouted.get(id);
    this.doneBeforeRouted.delete(id);
    const unique = [...new Set(lanes)].filter((lane) => !done?.has(lane)).slice(0, UNROUTED - 1);
    f.seg.owed[f.slot] = unique.length;
    for (const lane of unique) {
      const bits = f.seg.bits(lane, true)!;
      bits[f.slot >> 3]! |= 1 << (f.slot & 7);
      this.laneOwed.set(lane, (this.laneOwed.get(lane) ?? 0) + 1);
    }
    if (unique.length === 0) this.settle(f.seg);
    return true;
  }

  isOwed(id: number, lane: string): boolean {
    const f = this.find(id);
    const bits = f?.seg.bits(lane, false);
    return !!f && !!bits && (bits[f.slot >> 3]! & (1 << (f.slot & 7))) !== 0;
  }

  /** Mark one delivery finished. True when it was owed (so a duplicate settle is harmless). */
  finish(id: number, lane: string): boolean {
    const f = this.find(id);
    if (f && f.seg.owed[f.slot] === UNROUTED) {
      this.rememberDone(id, lane);
      return false;
    }
    const bits = f?.seg.bits(lane, false);
    if (!f || !bits || !(bits[f.slot >> 3]! & (1 << (f.slot & 7)))) return false;
    bits[f.slot >> 3]! &= ~(1 << (f.slot & 7));
    this.laneOwed.set(lane, (this.laneOwed.get(lane) ?? 1) - 1);
    if (--f.seg.owed[f.slot]! === 0) this.settle(f.seg);
    return true;
  }

  private rememberDone(id: number, lane: string): void {
    let lanes = this.doneBeforeRouted.get(id);
    if (!lanes) this.doneBeforeRouted.set(id, (lanes = new Set()));
    lanes.add(lane);
  }

  private settle(seg: SegmentIndex): void {
    seg.pending--;
    this.pendingCount--;
  }

  /** Up to `limit` ids owed to `lane`, ascending, from `fromId` up to and including `toId`. */
  owedIds(lane: string, fromId: number, toId: number, limit: number): number[] {
    const out: number[] = [];
    for (const seg of this.segments) {
      if (seg.firstId + seg.count <= fromId) continue;
      if (seg.firstId > toId) break;
      const bits = seg.lanes.get(lane);
      if (!bits) continue;
      const end = Math.min(seg.count, toId - seg.firstId + 1);
      for (let slot = Math.max(0, fromId - seg.firstId); slot < end; slot++) {
        const byte = bits[slot >> 3]!;
        if (byte === 0) {
          slot |= 7; // skip the rest of an empty byte
          continue;
        }
        if (byte & (1 << (slot & 7))) {
          out.push(seg.firstId + slot);
          if (out.length >= limit) return out;
        }
      }
    }
    return out;
  }

  /** Up to `limit` ids, ascending from `fromId`, that were journaled but never routed (recovery). */
  unroutedIds(fromId: number, limit: number): number[] {
    const out: number[] = [];
    for (const seg of this.segments) {
      if (seg.firstId + seg.count <= fromId) continue;
      for (let slot = Math.max(0, fromId - seg.firstId); slot < seg.count; slot++) {
        if (seg.sizes[slot] && seg.owed[slot] === UNROUTED) {
          out.push(seg.firstId + slot);
          if (out.length >= limit) return out;
        }
      }
    }
    return out;
  }

  /** True when the segment has no unfinished event (or holds no events at all). */
  isFinished(segment: number): boolean {
    const seg = this.segments.find((s) => s.segment === segment);
    return !seg || seg.pending === 0;
  }

  /** Forget a deleted segment. */
  dropSegment(segment: number): void {
    const i = this.segments.findIndex((s) => s.segment === segment);
    if (i >= 0) this.segments.splice(i, 1);
  }
}
