// Groups event reads into few file reads: a spilled lane reads its backlog in id order, and neighbouring ids sit next
// to each other in a segment (with at most a few ROUTED/DONE frames between them), so one read covers many events.
import type { EventLocation } from './journal.ts';

/** One file read covering the events at `items` (indexes into the caller's list). */
export interface ReadSpan {
  segment: number;
  offset: number;
  length: number;
  items: number[];
}

/** Bytes of unrelated frames a span may read over to join two events; above it, two reads are cheaper. */
export const MAX_GAP = 64 * 1024;
/** Largest span read at once, so a batch never needs one huge buffer. */
export const MAX_SPAN = 1024 * 1024;

/**
 * Group locations into spans, in the order given: an event joins the current span when it lies in the same segment,
 * after the span's end, within `maxGap` bytes of it, and the span stays within `maxSpan` bytes.
 * @example
 * readSpans([{ segment: 1, offset: 0, size: 10 }, { segment: 1, offset: 10, size: 5 }]) // [{ segment: 1, offset: 0, length: 15, items: [0, 1] }]
 */
export function readSpans(locs: readonly EventLocation[], maxGap = MAX_GAP, maxSpan = MAX_SPAN): ReadSpan[] {
  const spans: ReadSpan[] = [];
  let cur: ReadSpan | undefined;
  for (let i = 0; i < locs.length; i++) {
    const l = locs[i]!;
    const end = cur ? cur.offset + cur.length : 0;
    if (
      cur &&
      l.segment === cur.segment &&
      l.offset >= end &&
      l.offset - end <= maxGap &&
      l.offset + l.size - cur.offset <= maxSpan
    ) {
      cur.length = l.offset + l.size - cur.offset;
      cur.items.push(i);
    } else {
      cur = { segment: l.segment, offset: l.offset, length: l.size, items: [i] };
      spans.push(cur);
    }
  }
  return spans;
}
