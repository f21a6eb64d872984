// Watches the pipelines folder and calls back once per burst of changes, so an editor's save (often several events) means one reload.
import { watch } from 'chokidar';
import { basename } from 'node:path';
import { isPipelineFile } from './load.ts';

/**
 * Call `onChange` `debounceMs` after the last add, change or removal of a pipeline file (`*.yaml` / `*.yml`) in `dir`.
 * Atomic saves (write a temp file, rename it over the original) count as a change of the original.
 * @example
 * const watcher = watchPipelines('./pipelines', 200, () => void reload());
 * await watcher.close();
 */
export function watchPipelines(
  dir: string,
  debounceMs: number,
  onChange: () => void,
): { ready: Promise<void>; close(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(dir, {
    ignoreInitial: true,
    depth: 0,
    // chokidar folds unlink-then-add of the same path within a short window into one `change`: editors' atomic saves.
    atomic: true,
  });
  watcher.on('all', (event, path) => {
    if (event !== 'add' && event !== 'change' && event !== 'unlink') return;
    if (!isPipelineFile(basename(path))) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  });
  // A watcher error (e.g. the folder was removed) must not crash the daemon; the next reload reports the folder problem.
  watcher.on('error', () => {});
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    /** Resolves once the initial scan is done: changes from then on are seen. */
    ready,
    async close() {
      clearTimeout(timer);
      await watcher.close();
    },
  };
}
