// Rotated-file naming and pruning for the file sink: `out.jsonl` becomes `out-20261127T170000.jsonl`, oldest removed past `keep`.
import { lstat, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';

export type RotateEvery = 'hourly' | 'daily' | 'never';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Start (ms, UTC) of the rotation period that `ms` falls in; 0 for `never`. Periods are UTC so DST never makes one 23h long. */
export function periodStart(ms: number, every: RotateEvery): number {
  if (every === 'hourly') return Math.floor(ms / HOUR) * HOUR;
  if (every === 'daily') return Math.floor(ms / DAY) * DAY;
  return 0;
}

/** `YYYYMMDDTHHmmss` in UTC: sorts as text in time order. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').slice(0, 15);
}

function parts(path: string): { dir: string; stem: string; ext: string } {
  const ext = extname(path);
  return { dir: dirname(path), stem: basename(path, ext), ext };
}

/** The name a rotated file gets: `<stem>-<stamp>[-<n>]<ext>` next to the live file. */
export function rotatedName(path: string, ms: number, n = 0): string {
  const { dir, stem, ext } = parts(path);
  return join(dir, `${stem}-${stamp(ms)}${n > 0 ? `-${n}` : ''}${ext}`);
}

/** Move the live file aside under the first free rotated name for `ms`; returns that name. */
export async function rotateAway(path: string, ms: number): Promise<string> {
  for (let n = 0; ; n++) {
    const target = rotatedName(path, ms, n);
    const taken = await lstat(target).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        throw err;
      },
    );
    if (!taken) {
      await rename(path, target);
      return target;
    }
  }
}

/** Rotated files of `path`, oldest first. */
export async function rotatedFiles(path: string): Promise<string[]> {
  const { dir, stem, ext } = parts(path);
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`^${escape(stem)}-(\\d{8}T\\d{6})(?:-(\\d+))?${escape(ext)}$`);
  const found: { name: string; stamp: string; n: number }[] = [];
  for (const name of await readdir(dir)) {
    const m = pattern.exec(name);
    if (m) found.push({ name, stamp: m[1]!, n: Number(m[2] ?? 0) });
  }
  found.sort((a, b) => (a.stamp === b.stamp ? a.n - b.n : a.stamp < b.stamp ? -1 : 1));
  return found.map((f) => join(dir, f.name));
}

/** Delete the oldest rotated files so that at most `keep` remain. */
export async function pruneRotated(path: string, keep: number): Promise<void> {
  const files = await rotatedFiles(path);
  for (const file of files.slice(0, Math.max(0, files.length - keep))) {
    await unlink(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}
