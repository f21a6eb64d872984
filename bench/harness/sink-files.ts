// Counting what file sinks wrote: lines across the JSON Lines files in a folder, and waiting for them to settle.
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

async function countLines(file: string): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  }
  return n;
}

/** Total lines in every file under `dir` (not recursive; rotated files included). */
export async function countSinkLines(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += await countLines(join(dir, name)).catch(() => 0);
  return total;
}

/**
 * Poll until the line count reaches `expected` or stops growing for `quietMs`, bounded by `timeoutMs`.
 * Returns the count and when it was last seen growing (ms after the call), which is the drain time.
 * @example const { lines, drainMs } = await waitForSinkLines(outDir, 5000, 1000, 60_000);
 */
export async function waitForSinkLines(
  dir: string,
  expected: number,
  quietMs: number,
  timeoutMs: number,
): Promise<{ lines: number; drainMs: number }> {
  const t0 = performance.now();
  let lines = await countSinkLines(dir);
  let lastGrowth = 0;
  while (lines < expected && performance.now() - t0 < timeoutMs && performance.now() - t0 - lastGrowth < quietMs) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await countSinkLines(dir);
    if (now > lines) lastGrowth = performance.now() - t0;
    lines = now;
  }
  return { lines, drainMs: lastGrowth };
}
