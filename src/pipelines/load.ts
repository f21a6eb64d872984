// Loads every pipeline file of a folder into a new routing table; a broken file keeps its previous version.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Problem } from '../schema-kit/yaml-source.ts';
import type { CompileCache, CompileOutcome } from './compile-cache.ts';
import { compilePipelineFile, type SinkTypes } from './compile-file.ts';
import type { LastGoodVersions } from './last-good.ts';
import { Router, type CompiledPipeline } from './router.ts';
import type { RoutingTable } from './table.ts';

export type { SinkTypes } from './compile-file.ts';

export interface LoadResult {
  table: RoutingTable;
  problems: Problem[];
  /** Per file: whether it compiled; `lastGood` when it did not and its last good version runs instead. */
  files: { file: string; pipeline?: string; ok: boolean; lastGood?: boolean }[];
  /** Files this load compiled; the others were unchanged and came from `cache`. */
  compiled: string[];
}

export interface LoadOptions {
  /** Pipelines folder; relative to `baseDir`. */
  dir: string;
  sinkTypes: SinkTypes;
  /** Where `${VAR}` values come from (default: `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Time box of one JSONata evaluation. */
  evalTimeoutMs: number;
  /** Folder a relative `dir` resolves against (the config file's folder). */
  baseDir: string;
  /** The table in use: a file that fails now keeps the pipelines it had there. */
  previous?: RoutingTable;
  /** Version of the new table (default: previous version + 1, else 1). */
  version?: number;
  /** Compiled files of earlier loads: a file whose content did not change is not compiled again. */
  cache?: CompileCache;
  /**
   * The daemon's store of last good versions: every file that compiles is saved there, and a broken file that has no
   * running version (at start) runs its saved one. Offline commands (`validate`, `test`) leave it out.
   */
  lastGood?: LastGoodVersions;
}

/** Limits on what a pipelines folder may hold, so a stray file cannot exhaust memory. */
const MAX_FILES = 1000;
const MAX_FILE_BYTES = 1024 * 1024;
const PIPELINE_FILE = /\.ya?ml$/i;
const TEST_FILE = /\.test\.ya?ml$/i;
/** Compiling runs on the event loop that also answers ingress: give it a turn after this much work. */
const YIELD_AFTER_MS = 4;

/** True for a pipeline file name: `*.yaml` / `*.yml`, not a dotfile, not a `*.test.yaml`. */
export function isPipelineFile(name: string): boolean {
  return PIPELINE_FILE.test(name) && !TEST_FILE.test(name) && !name.startsWith('.');
}

/**
 * Parse and compile every `*.yaml` / `*.yml` in `dir` (sorted, not recursive; dotfiles and `*.test.yaml` skipped).
 * Never throws: every problem comes back in `problems` as `file:line:col: message`.
 * @example
 * const { table, problems } = await loadPipelines({ dir: './pipelines', sinkTypes: registry, evalTimeoutMs: 100, baseDir: process.cwd() });
 * if (problems.length) for (const p of problems) console.error(formatProblem(p));
 */
export async function loadPipelines(opts: LoadOptions): Promise<LoadResult> {
  const dir = resolve(opts.baseDir, opts.dir);
  const env = opts.env ?? process.env;
  const previous = opts.previous instanceof Router ? opts.previous : undefined;
  const version = opts.version ?? (opts.previous ? opts.previous.version + 1 : 1);
  const problems: Problem[] = [];
  const files: LoadResult['files'] = [];
  const compiled: string[] = [];

  // Reads are synchronous on purpose: pipeline files are small (capped) and local, so a read costs microseconds, while
  // an async read waits in libuv's 4-thread pool behind every journal fsync and sink write queued by live traffic
  // (measured: 100 files took 0.2-3.6 s to reload under load, nearly all of it waiting there).
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((e) => (e.isFile() || e.isSymbolicLink()) && isPipelineFile(e.name))
      .map((e) => e.name)
      .sort();
  } catch (err) {
    problems.push({
      file: display(dir),
      line: 1,
      col: 1,
      message: `cannot read the pipelines folder: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    });
    // Nothing can be read: keep running what ran before rather than dropping every route.
    return { table: new Router(version, previous ? allOf(previous) : []), problems, files, compiled };
  }
  if (names.length > MAX_FILES) {
    problems.push({
      file: display(dir),
      line: 1,
      col: 1,
      message: `${names.length} pipeline files: only the first ${MAX_FILES} are loaded`,
    });
    names = names.slice(0, MAX_FILES);
  }

  const outcomes: { file: string; shown: string; result: CompileOutcome }[] = [];
  let since = performance.now();
  for (const name of names) {
    if (performance.now() - since >= YIELD_AFTER_MS) {
      await new Promise((r) => setImmediate(r));
      since = performance.now();
    }
    const file = join(dir, name);
    const shown = display(file);
    const { outcome: result, text } = compileOne(file, shown, opts, env, compiled);
    problems.push(...result.problems);
    if (result.pipeline && text !== undefined) keepLastGood(opts.lastGood, file, shown, text, problems);
    outcomes.push({ file, shown, result });
  }

  // A name claimed by two files goes to the file that already runs it, so a new file that copies a running pipeline's
  // name is the one refused (and the running pipeline keeps its routes); otherwise the first file in name order wins.
  const running = new Map(previous?.pipelines.map((p) => [p.name, p.file])); // one lookup per comparison, not a scan
  const runningOwner = (name: string) => running.get(name);
  const order = [...outcomes].sort((a, b) => {
    const aOwns = a.result.pipeline !== undefined && runningOwner(a.result.pipeline.info.name) === a.file;
    const bOwns = b.result.pipeline !== undefined && runningOwner(b.result.pipeline.info.name) === b.file;
    return aOwns === bOwns ? 0 : aOwns ? -1 : 1;
  });
  const pipelines: CompiledPipeline[] = [];
  const owner = new Map<string, string>();
  const fileOk = new Map<string, { pipeline?: string; ok: boolean; lastGood?: boolean }>();
  for (const { file, shown, result } of order) {
    let pipeline = result.pipeline;
    if (pipeline && owner.has(pipeline.info.name)) {
      problems.push({
        file: shown,
        line: 1,
        col: 1,
        message: `duplicate pipeline name "${pipeline.info.name}" (also in ${owner.get(pipeline.info.name)}): names must be unique`,
      });
      pipeline = undefined;
    }
    if (pipeline) {
      owner.set(pipeline.info.name, shown);
      pipelines.push(pipeline);
      fileOk.set(file, { pipeline: pipeline.info.name, ok: true });
      continue;
    }
    const kept = (previous?.pipelinesFrom(file) ?? []).filter((p) => !owner.has(p.info.name));
    for (const p of kept) {
      owner.set(p.info.name, shown);
      pipelines.push(p);
    }
    const saved = kept.length === 0 ? lastGoodPipeline(opts, env, file, shown, problems) : undefined;
    if (saved && !owner.has(saved.info.name)) {
      owner.set(saved.info.name, shown);
      pipelines.push(saved);
      fileOk.set(file, { pipeline: saved.info.name, ok: false, lastGood: true });
      continue;
    }
    fileOk.set(file, { ...(kept[0] ? { pipeline: kept[0].info.name } : {}), ok: false });
  }
  // Files and pipelines stay in name order whatever order ownership was decided in.
  for (const { file } of outcomes) files.push({ file, ...fileOk.get(file)! });
  const fileIndex = new Map(outcomes.map((o, i) => [o.file, i]));
  pipelines.sort((a, b) => (fileIndex.get(a.info.file) ?? 0) - (fileIndex.get(b.info.file) ?? 0));
  const present = new Set(names.map((name) => join(dir, name)));
  opts.cache?.keepOnly(present);
  opts.lastGood?.keepOnly(present);
  return { table: new Router(version, pipelines), problems, files, compiled };
}

/** Read and compile one file, or take its outcome from the cache when its content is unchanged; `compiled` collects real compiles. */
function compileOne(
  file: string,
  shown: string,
  opts: LoadOptions,
  env: NodeJS.ProcessEnv,
  compiled: string[],
): { outcome: CompileOutcome; text?: string } {
  let text: string;
  try {
    const info = statSync(file);
    if (info.size > MAX_FILE_BYTES)
      return {
        outcome: {
          problems: [
            { file: shown, line: 1, col: 1, message: `file is ${info.size} bytes; a pipeline file may be at most 1mb` },
          ],
        },
      };
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return { outcome: { problems: [{ file: shown, line: 1, col: 1, message: `cannot read: ${code}` }] } };
  }
  const cached = opts.cache?.lookup(file, text, {
    sinkTypes: opts.sinkTypes,
    env,
    baseDir: opts.baseDir,
    evalTimeoutMs: opts.evalTimeoutMs,
  });
  if (cached?.outcome) return { outcome: cached.outcome, text };
  const outcome = compilePipelineFile({
    file,
    displayFile: shown,
    text,
    sinkTypes: opts.sinkTypes,
    env,
    baseDir: opts.baseDir,
    evalTimeoutMs: opts.evalTimeoutMs,
  });
  compiled.push(file);
  if (cached) opts.cache!.store(file, cached.key, outcome);
  return { outcome, text };
}

/** Save a file that compiled as its last good version; failing to save is a problem, not a reason to stop. */
function keepLastGood(
  lastGood: LastGoodVersions | undefined,
  file: string,
  shown: string,
  text: string,
  problems: Problem[],
): void {
  try {
    lastGood?.save(file, text);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    problems.push({
      file: shown,
      line: 1,
      col: 1,
      message: `could not keep this file as its last good version: ${code}`,
    });
  }
}

/** The saved last good version of a broken file, compiled as it would be now; the problem list says it runs. */
function lastGoodPipeline(
  opts: LoadOptions,
  env: NodeJS.ProcessEnv,
  file: string,
  shown: string,
  problems: Problem[],
): CompiledPipeline | undefined {
  const saved = opts.lastGood?.read(file);
  if (!saved) return undefined;
  const outcome = compilePipelineFile({
    file,
    displayFile: `${shown} (last good version)`,
    text: saved.text,
    sinkTypes: opts.sinkTypes,
    env,
    baseDir: opts.baseDir,
    evalTimeoutMs: opts.evalTimeoutMs,
  });
  if (!outcome.pipeline) return undefined; // it no longer compiles either (e.g. its plugin is gone)
  const when = new Date(saved.savedAt).toISOString();
  problems.push({
    file: shown,
    line: 1,
    col: 1,
    message: `running its last good version (saved ${when}) until this file is fixed`,
  });
  return outcome.pipeline;
}

function allOf(table: Router): CompiledPipeline[] {
  return [...new Set(table.pipelines.map((p) => p.file))].flatMap((f) => table.pipelinesFrom(f));
}

/** Paths under the working directory print relative to it (as editors and terminals link them); others stay absolute. */
function display(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}
