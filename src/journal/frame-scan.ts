// Reads a journal segment's frames in order for recovery, stepping over corrupt regions to the next intact frame,
// so one flipped byte costs the record it hit, not every acknowledged record after it.
import { open, type FileHandle } from 'node:fs/promises';
import { FRAME_HEADER, MAX_PAYLOAD, readFrame } from './format.ts';

/** Bytes read at a time: memory stays small whatever the segment size. */
const SCAN_CHUNK = 4 * 1024 * 1024;

export type ScannedFrame =
  | { kind: 'frame'; type: number; payload: Buffer; size: number }
  /** Bytes `[from, to)` hold no intact frame; an intact frame starts at `to`. */
  | { kind: 'corrupt'; from: number; to: number };

/**
 * The intact frames of a segment file in order. A corrupt region followed by intact frames is reported as one
 * `corrupt` item and skipped; the scan ends at the last intact frame, so whatever follows it (a torn tail) is
 * simply not yielded: the caller compares the bytes it saw with the file size.
 */
export async function* scanFrames(file: string, fileBytes: number): AsyncGenerator<ScannedFrame> {
  const fh = await open(file, 'r');
  try {
    let buf = Buffer.alloc(0);
    let rel = 0;
    let filePos = 0; // file offset just past `buf`
    for (;;) {
      const f = readFrame(buf, rel);
      if (f.ok) {
        yield { kind: 'frame', type: f.type, payload: f.payload, size: f.size };
        rel += f.size;
        continue;
      }
      if (f.partial && filePos < fileBytes) {
        // Read on: at least one chunk, or the whole of the frame whose header we already hold.
        const rest = buf.subarray(rel);
        const claimed = rest.length >= 4 ? FRAME_HEADER + rest.readUInt32LE(0) : 0;
        const want = Math.min(
          fileBytes - filePos,
          Math.max(SCAN_CHUNK, Math.min(claimed, FRAME_HEADER + MAX_PAYLOAD) - rest.length),
        );
        const next = Buffer.allocUnsafe(rest.length + want);
        rest.copy(next, 0);
        const { bytesRead } = await fh.read(next, rest.length, want, filePos);
        if (bytesRead === 0) return;
        filePos += bytesRead;
        buf = next.subarray(0, rest.length + bytesRead);
        rel = 0;
        continue;
      }
      const bad = filePos - (buf.length - rel);
      if (bad >= fileBytes) return;
      const resume = await nextIntactFrame(fh, bad + 1, fileBytes);
      if (resume === undefined) return; // nothing intact after it: a torn tail
      yield { kind: 'corrupt', from: bad, to: resume };
      buf = Buffer.alloc(0);
      rel = 0;
      filePos = resume;
    }
  } finally {
    await fh.close();
  }
}

/** Offset of the first intact frame at or after `from`, or undefined. Candidates are checked by header, then CRC. */
export async function nextIntactFrame(fh: FileHandle, from: number, fileBytes: number): Promise<number | undefined> {
  const window = Buffer.allocUnsafe(SCAN_CHUNK + FRAME_HEADER);
  for (let start = from; start + FRAME_HEADER <= fileBytes; start += SCAN_CHUNK) {
    const { bytesRead } = await fh.read(window, 0, Math.min(window.length, fileBytes - start), start);
    const view = window.subarray(0, bytesRead);
    const last = Math.min(SCAN_CHUNK, bytesRead - FRAME_HEADER + 1);
    for (let p = 0; p < last; p++) {
      const f = readFrame(view, p);
      if (f.ok) return start + p;
      if (!f.partial) continue;
      // The candidate's header is plausible but its payload runs past the window: check it on its own.
      const len = view.readUInt32LE(p);
      if (start + p + FRAME_HEADER + len > fileBytes) continue;
      const whole = Buffer.allocUnsafe(FRAME_HEADER + len);
      await fh.read(whole, 0, whole.length, start + p);
      if (readFrame(whole, 0).ok) return start + p;
    }
  }
  return undefined;
}
