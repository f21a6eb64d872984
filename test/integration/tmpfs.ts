// A small tmpfs for disk-full tests: mount it, fill it to ENOSPC, free it. The suite runs as root (here and in CI);
// a mount that fails stops the test with the reason instead of skipping it.
import { execFileSync } from 'node:child_process';
import { mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface Tmpfs {
  dir: string;
  /** Write a filler file until the file system is full (ENOSPC). */
  fill(): Promise<void>;
  /** Remove the filler: the space is back. */
  free(): Promise<void>;
  unmount(): void;
}

/**
 * @example
 * const disk = await mountTmpfs(join(dir, 'data'), '4m');
 * t.after(() => disk.unmount());
 * await disk.fill(); // every write under disk.dir now fails with ENOSPC
 */
export async function mountTmpfs(dir: string, size: string): Promise<Tmpfs> {
  await mkdir(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    const why = (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
    throw new Error(
      `cannot mount a tmpfs at ${dir} (${why}): the disk-full tests need root (CI runs the suite as root) and a kernel that allows tmpfs mounts`,
    );
  }
  const filler = join(dir, 'filler');
  return {
    dir,
    async fill() {
      const fh = await open(filler, 'a');
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      try {
        for (;;) await fh.write(chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        // A last partial page may still hold a few bytes: take them too.
        for (let n = 4096; n >= 1; n >>= 1)
          await fh.write(Buffer.alloc(n)).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== 'ENOSPC') throw e;
          });
      } finally {
        await fh.close();
      }
    },
    async free() {
      await unlink(filler);
    },
    unmount() {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    },
  };
}
