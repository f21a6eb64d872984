// The journal's on-disk frame and record encodings: `[u32 length][u32 crc32][u8 type][payload]`, little-endian.
import { crc32 } from 'node:zlib';
import type { SeenKey } from '../storage/seen-keys.ts';

/** Bytes before a frame's payload: length, checksum, type. */
export const FRAME_HEADER = 9;
/** Largest payload a frame may hold; a length word claiming more is corruption (torn). */
export const MAX_PAYLOAD = 256 * 1024 * 1024;

export const RecordType = { segmentStart: 1, event: 2, routed: 3, done: 4 } as const;
export type RecordTypeCode = (typeof RecordType)[keyof typeof RecordType];

/** EVENT flag: the event is pinned to one lane (a dead-letter replay) instead of being routed. */
export const FLAG_PINNED = 1;

/** CRC over the type byte and the payload, so a frame with a swapped type is caught too. */
function frameCrc(type: number, payload: Uint8Array): number {
  return crc32(payload, crc32(Uint8Array.of(type)));
}

/** One framed record, ready to write. */
export function frame(type: RecordTypeCode, payload: Buffer): Buffer {
  if (payload.length > MAX_PAYLOAD)
    throw new Error(`journal record of ${payload.length} bytes is over the ${MAX_PAYLOAD}-byte limit`);
  const out = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(frameCrc(type, payload), 4);
  out[8] = type;
  payload.copy(out, FRAME_HEADER);
  return out;
}

export type FrameCheck = { ok: true; type: number; payload: Buffer; size: number } | { ok: false; partial: boolean };

/**
 * Read the frame at `pos` of `buf`. `partial` means the buffer ends inside the frame (read more, or a torn tail);
 * otherwise a failure is corruption.
 */
export function readFrame(buf: Buffer, pos: number): FrameCheck {
  if (buf.length - pos < FRAME_HEADER) return { ok: false, partial: true };
  const len = buf.readUInt32LE(pos);
  const type = buf[pos + 8]!;
  if (len > MAX_PAYLOAD || type < RecordType.segmentStart || type > RecordType.done)
    return { ok: false, partial: false };
  if (buf.length - pos < FRAME_HEADER + len) return { ok: false, partial: true };
  const payload = buf.subarray(pos + FRAME_HEADER, pos + FRAME_HEADER + len);
  if (frameCrc(type, payload) !== buf.readUInt32LE(pos + 4)) return { ok: false, partial: false };
  return { ok: true, type, payload, size: FRAME_HEADER + len };
}

// --- record payloads ---------------------------------------------------------------------------------------------

/** SEGMENT_START: the next id at the time the segment was opened, so ids never go back even when older segments are gone. */
export const encodeSegmentStart = (nextId: number): Buffer => {
  const b = Buffer.allocUnsafe(8);
  b.writeDoubleLE(nextId, 0);
  return b;
};
export const decodeSegmentStart = (p: Buffer): number => p.readDoubleLE(0);

export interface EventFields {
  id: number;
  receivedAt: number;
  eventName: string;
  raw: Buffer;
  /** Lane key a replayed event is owed to (FLAG_PINNED). */
  pinnedLane?: string | undefined;
}

/** EVENT: `[f64 id][f64 receivedAt][u8 flags][u16 nameLen][name][u16 laneLen][lane] if pinned, [raw bytes]`. */
export function encodeEvent(e: EventFields): Buffer {
  const name = Buffer.from(e.eventName, 'utf8');
  const lane = e.pinnedLane === undefined ? undefined : Buffer.from(e.pinnedLane, 'utf8');
  if (name.length > 0xffff || (lane && lane.length > 0xffff))
    throw new Error('event name or lane key too long for the journal');
  const head = Buffer.allocUnsafe(19 + name.length + (lane ? 2 + lane.length : 0));
  head.writeDoubleLE(e.id, 0);
  head.writeDoubleLE(e.receivedAt, 8);
  head[16] = lane ? FLAG_PINNED : 0;
  head.writeUInt16LE(name.length, 17);
  name.copy(head, 19);
  if (lane) {
    head.writeUInt16LE(lane.length, 19 + name.length);
    lane.copy(head, 21 + name.length);
  }
  return Buffer.concat([head, e.raw]);
}

/** The id of an EVENT payload without decoding the rest (the recovery scan needs only this). */
export const eventId = (p: Buffer): number => p.readDoubleLE(0);

export function decodeEvent(p: Buffer): EventFields {
  const flags = p[16]!;
  const nameLen = p.readUInt16LE(17);
  let pos = 19 + nameLen;
  let pinnedLane: string | undefined;
  if (flags & FLAG_PINNED) {
    const laneLen = p.readUInt16LE(pos);
    pinnedLane = p.toString('utf8', pos + 2, pos + 2 + laneLen);
    pos += 2 + laneLen;
  }
  // Copy the raw bytes: the payload may be a view into a large shared read buffer.
  return {
    id: p.readDoubleLE(0),
    receivedAt: p.readDoubleLE(8),
    eventName: p.toString('utf8', 19, 19 + nameLen),
    raw: Buffer.from(p.subarray(pos)),
    pinnedLane,
  };
}

/** The pinned lane of an EVENT payload, if any, without copying the body. */
export function eventPinnedLane(p: Buffer): string | undefined {
  if (!(p[16]! & FLAG_PINNED)) return undefined;
  const pos = 19 + p.readUInt16LE(17);
  return p.toString('utf8', pos + 2, pos + 2 + p.readUInt16LE(pos));
}

export interface RoutedEntry {
  id: number;
  lanes: string[];
  /** Dedupe keys this event is the first copy of (see storage/seen-keys.ts). */
  seen?: SeenKey[] | undefined;
}

/**
 * ROUTED (a batch): `[u32 n]` then per event `[f64 id][u16 lanes]` and per lane `[u16 len][key]`; then, when any
 * entry carries dedupe keys, the seen-key trailer (`encodeSeenKeys`). A record without the trailer reads as before.
 */
export function encodeRouted(entries: RoutedEntry[]): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32LE(entries.length, 0);
  parts.push(head);
  for (const e of entries) {
    const h = Buffer.allocUnsafe(10);
    h.writeDoubleLE(e.id, 0);
    h.writeUInt16LE(e.lanes.length, 8);
    parts.push(h);
    for (const lane of e.lanes) {
      const k = Buffer.from(lane, 'utf8');
      const l = Buffer.allocUnsafe(2);
      l.writeUInt16LE(k.length, 0);
      parts.push(l, k);
    }
  }
  const seen = entries.flatMap((e) => e.seen ?? []);
  if (seen.length > 0) parts.push(encodeSeenKeys(seen));
  return Buffer.concat(parts);
}

export function decodeRouted(p: Buffer): RoutedEntry[] {
  const n = p.readUInt32LE(0);
  const out: RoutedEntry[] = [];
  let pos = 4;
  for (let i = 0; i < n; i++) {
    const id = p.readDoubleLE(pos);
    const count = p.readUInt16LE(pos + 8);
    pos += 10;
    const lanes: string[] = [];
    for (let j = 0; j < count; j++) {
      const len = p.readUInt16LE(pos);
      lanes.push(p.toString('utf8', pos + 2, pos + 2 + len));
      pos += 2 + len;
    }
    out.push({ id, lanes });
  }
  if (pos < p.length) {
    const byId = new Map(out.map((e) => [e.id, e]));
    for (const key of decodeSeenKeys(p, pos)) {
      const e = byId.get(key.eventId);
      if (e) (e.seen ??= []).push(key);
    }
  }
  return out;
}

/** Seen dedupe keys: `[u32 n]` then per key `[f64 eventId][f64 expiresAt][u32 hash hi][u32 hash lo][u16 len][pipeline]`. */
export function encodeSeenKeys(keys: readonly SeenKey[]): Buffer {
  const names = keys.map((k) => Buffer.from(k.pipeline, 'utf8'));
  let size = 4;
  for (const n of names) size += 26 + n.length;
  const b = Buffer.allocUnsafe(size);
  b.writeUInt32LE(keys.length, 0);
  let pos = 4;
  keys.forEach((k, i) => {
    const name = names[i]!;
    if (name.length > 0xffff) throw new Error('pipeline name too long for the journal');
    b.writeDoubleLE(k.eventId, pos);
    b.writeDoubleLE(k.expiresAt, pos + 8);
    b.writeUInt32LE(k.hash.hi >>> 0, pos + 16);
    b.writeUInt32LE(k.hash.lo >>> 0, pos + 20);
    b.writeUInt16LE(name.length, pos + 24);
    name.copy(b, pos + 26);
    pos += 26 + name.length;
  });
  return b;
}

export function decodeSeenKeys(p: Buffer, from = 0): SeenKey[] {
  const n = p.readUInt32LE(from);
  const out: SeenKey[] = new Array(n);
  let pos = from + 4;
  for (let i = 0; i < n; i++) {
    const len = p.readUInt16LE(pos + 24);
    out[i] = {
      eventId: p.readDoubleLE(pos),
      expiresAt: p.readDoubleLE(pos + 8),
      hash: { hi: p.readUInt32LE(pos + 16), lo: p.readUInt32LE(pos + 20) },
      pipeline: p.toString('utf8', pos + 26, pos + 26 + len),
    };
    pos += 26 + len;
  }
  return out;
}

/** DONE (a batch for one lane): `[u16 len][lane key][u32 n][n × f64 id]`. */
export function encodeDone(lane: string, ids: number[]): Buffer {
  const k = Buffer.from(lane, 'utf8');
  const b = Buffer.allocUnsafe(6 + k.length + 8 * ids.length);
  b.writeUInt16LE(k.length, 0);
  k.copy(b, 2);
  b.writeUInt32LE(ids.length, 2 + k.length);
  let pos = 6 + k.length;
  for (const id of ids) {
    b.writeDoubleLE(id, pos);
    pos += 8;
  }
  return b;
}

export function decodeDone(p: Buffer): { lane: string; ids: number[] } {
  const len = p.readUInt16LE(0);
  const lane = p.toString('utf8', 2, 2 + len);
  const n = p.readUInt32LE(2 + len);
  const ids: number[] = new Array(n);
  for (let i = 0, pos = 6 + len; i < n; i++, pos += 8) ids[i] = p.readDoubleLE(pos);
  return { lane, ids };
}
