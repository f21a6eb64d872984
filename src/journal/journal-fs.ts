// The file operations the journal writes through: node:fs/promises itself in production, a fault-injecting stand-in in tests.
import { open, truncate, unlink, type FileHandle } from 'node:fs/promises';

/** What the journal does with an open segment file (a `FileHandle` has all of it). */
export type JournalFile = Pick<FileHandle, 'writev' | 'write' | 'datasync' | 'sync' | 'truncate' | 'close'>;

/**
 * Every call by which the journal changes files on disk. Reads stay on node:fs directly: faults that matter for
 * durability happen on write, fsync, truncate and unlink.
 * @example
 * const fs: JournalFs = { ...nodeJournalFs, open: async (p, f) => failingFile(await nodeJournalFs.open(p, f)) };
 * await Journal.open({ dir, fsync: 'batch', segmentBytes, metrics, logger, fs }, visit);
 */
export interface JournalFs {
  /** Open a segment for writing (`'w'`) or the folder for its fsync (`'r'`). */
  open(path: string, flags: 'w' | 'r'): Promise<JournalFile>;
  truncate(path: string, length: number): Promise<void>;
  unlink(path: string): Promise<void>;
}

/** The real file system: the functions themselves, so production pays no wrapper. */
export const nodeJournalFs: JournalFs = { open, truncate, unlink };
