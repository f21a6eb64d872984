// Where the bench lives relative to the repository, so every module resolves files the same way.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the folder holding package.json). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The bench folder. */
export const benchDir = join(repoRoot, 'bench');
