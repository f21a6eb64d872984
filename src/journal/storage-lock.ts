// One daemon per storage folder: a lock file with the owner's pid, taken atomically and cleared when its owner is gone.
import { open, readFile, unlink } from 'node:fs/promises';
import { lockFile } from './layout.ts';

export interface StorageLock {
  readonly file: string;
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Take `<dir>/hookroute.lock`. Throws when another live process holds it; a stale lock (dead pid) is taken over. */
export async function acquireStorageLock(dir: string): Promise<StorageLock> {
  const file = lockFile(dir);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o600);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return {
        file,
        release: async () => {
          await unlink(file).catch(() => {});
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new Error(
          `storage folder ${dir} is in use by another hookroute (pid ${pid}); stop it or set storage.dir to another folder`,
        );
      }
      await unlink(file).catch(() => {});
    }
  }
  throw new Error(`could not take the storage lock ${file}`);
}

/** The pid of the live daemon holding `dir`, if any (used by CLI commands that must not write while it runs). */
export async function lockHolder(dir: string): Promise<number | undefined> {
  const pid = Number((await readFile(lockFile(dir), 'utf8').catch(() => '')).trim());
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
}
