// Every path under `storage.dir`, in one place: the journal's segments, the dead-letter queue, seen dedupe keys and the lock.
import { join } from 'node:path';

/** Folder of the journal's segment files. */
export const journalDir = (storageDir: string): string => join(storageDir, 'journal');

/** Folder of the dead-letter queue's JSON Lines files. */
export const deadLetterDir = (storageDir: string): string => join(storageDir, 'dlq');

/** Folder of the seen dedupe keys (journal/seen-log.ts). */
export const dedupeDir = (storageDir: string): string => join(storageDir, 'dedupe');

/** The lock file that keeps a second daemon off the same storage folder. */
export const lockFile = (storageDir: string): string => join(storageDir, 'hookroute.lock');

/** The last version of each pipeline file that compiled, run at start when the file itself is broken. */
export const lastGoodDir = (storageDir: string): string => join(storageDir, 'pipelines-last-good');
