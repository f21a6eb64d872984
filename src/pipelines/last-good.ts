// The last version of each pipeline file that compiled, kept under storage.dir, so a typo plus a restart never stops routing.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One saved version: the file it belongs to, its text, and when it was saved (ms since epoch). */
export interface SavedVersion {
  file: string;
  text: string;
  savedAt: number;
}

const ENTRY = /^[0-9a-f]{32}\.json$/;

/**
 * Saved versions by absolute file path, one JSON file each (named by a hash of the path, never by anything in it).
 * Writes are atomic (temp file + rename) and synchronous: pipeline files are small and capped at 1 MB.
 * @example
 * const lastGood = new LastGoodVersions(lastGoodDir(config.storage.dir));
 * lastGood.save('/etc/hookroute/pipelines/alerts.yaml', text); // after it compiled
 * lastGood.read('/etc/hookroute/pipelines/alerts.yaml');       // { file, text, savedAt } at the next start
 */
export class LastGoodVersions {
  /** Texts known to be on disk, so an unchanged file is not written again on every reload. */
  private readonly saved = new Map<string, string>();

  constructor(private readonly dir: string) {}

  read(file: string): SavedVersion | undefined {
    try {
      const v = JSON.parse(readFileSync(this.entry(file), 'utf8')) as Partial<SavedVersion>;
      if (v.file !== file || typeof v.text !== 'string' || typeof v.savedAt !== 'number') return undefined;
      return { file, text: v.text, savedAt: v.savedAt };
    } catch {
      return undefined; // none saved (or unreadable: then there is no last good version to run)
    }
  }

  /** Remember `text` as the last good version of `file`. Throws on a storage error (the caller logs it). */
  save(file: string, text: string, now = Date.now()): void {
    if (this.saved.get(file) === text) return;
    const previous = this.read(file);
    if (previous?.text !== text) {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const target = this.entry(file);
      const tmp = `${target}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify({ file, text, savedAt: now }), { mode: 0o600 });
      renameSync(tmp, target);
    }
    this.saved.set(file, text);
  }

  /** Forget the versions of files that are gone from the folder: a deleted pipeline must not come back. */
  keepOnly(files: ReadonlySet<string>): void {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => ENTRY.test(n));
    } catch {
      return;
    }
    const wanted = new Set([...files].map((f) => this.name(f)));
    for (const name of names) {
      if (wanted.has(name)) continue;
      try {
        unlinkSync(join(this.dir, name));
      } catch {
        // already gone
      }
    }
    for (const file of this.saved.keys()) if (!files.has(file)) this.saved.delete(file);
  }

  private name(file: string): string {
    return `${createHash('sha256').update(file).digest('hex').slice(0, 32)}.json`;
  }

  private entry(file: string): string {
    return join(this.dir, this.name(file));
  }
}
