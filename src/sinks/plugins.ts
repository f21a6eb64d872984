// Plugin loading: every module in `plugins.dir` may export sink definitions; a broken one is reported, never fatal.
import { readdirSync, statSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Compile } from 'typebox/compile';
import type { Problem } from '../schema-kit/yaml-source.ts';
import { parseRate } from '../schema-kit/units.ts';
import type { Logger } from '../log.ts';
import type { SinkDefinition } from './define.ts';
import { PLUGIN_MARK } from './ts-plugin-hooks.ts';

/** A sink type name: what users write as `type:` in a pipeline. */
export const SINK_TYPE_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;

const PLUGIN_EXTENSIONS = new Set(['.js', '.mjs', '.ts']);
/** A plugin whose top-level code has not settled by then is reported instead of stalling start or reload. */
const IMPORT_TIMEOUT_MS = 10_000;
/** Bounds what one folder can make us load. */
const MAX_PLUGIN_FILES = 200;
const MAX_SINKS_PER_FILE = 100;

export interface PluginSink {
  definition: SinkDefinition;
  /** The plugin file that declared it. */
  file: string;
}

/**
 * Plugin module files in `dir`: `.js`, `.mjs`, `.ts`, not recursive, sorted by name, without dotfiles,
 * `*.test.*` and `.d.ts`. A missing folder has no plugins.
 */
export async function listPluginFiles(dir: string): Promise<string[]> {
  // Synchronous like the pipeline loader's reads, and for the same reason: on reload, an async stat per plugin file
  // would wait in libuv's thread pool behind the journal's fsyncs and the sinks' writes.
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const files: string[] = [];
  for (const name of names.sort()) {
    if (
      name.startsWith('.') ||
      name.includes('.test.') ||
      name.endsWith('.d.ts') ||
      !PLUGIN_EXTENSIONS.has(extname(name))
    )
      continue;
    const file = join(dir, name);
    let st: ReturnType<typeof statSync> | undefined;
    try {
      st = statSync(file);
    } catch {
      st = undefined; // gone or unreadable since readdir: not a plugin file
    }
    if (st?.isFile()) files.push(file);
  }
  return files;
}

/** Options schemas that compiled once: an unchanged plugin comes back from the module cache on every reload, and compiling is costly. */
const validSchemas = new WeakSet<object>();

/** Why `value` is not a usable sink definition, or undefined when it is one. */
export function checkSinkDefinition(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return 'is not a sink definition object';
  const def = value as Record<string, unknown>;
  if (typeof def.type !== 'string' || !SINK_TYPE_PATTERN.test(def.type)) {
    return `type ${JSON.stringify(def.type)} must be a name of lowercase letters, digits, "-" and "_" (starting with a letter)`;
  }
  if (def.description !== undefined && typeof def.description !== 'string')
    return `sink "${def.type}": description must be a string when given`;
  if (typeof def.create !== 'function') return `sink "${def.type}": create must be a function`;
  const options = def.options;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    return `sink "${def.type}": options must be a TypeBox (JSON Schema) object, e.g. Type.Object({ url: Type.String() })`;
  }
  if (!validSchemas.has(options)) {
    try {
      Compile(options as never);
    } catch (err) {
      return `sink "${def.type}": options is not a valid schema: ${(err as Error).message}`;
    }
    validSchemas.add(options);
  }
  if (def.defaults !== undefined) {
    const d = def.defaults as Record<string, unknown> | null;
    if (d === null || typeof d !== 'object') return `sink "${def.type}": defaults must be an object`;
    const c = d.concurrency;
    if (c !== undefined && c !== 'adaptive' && (!Number.isInteger(c) || (c as number) < 1)) {
      return `sink "${def.type}": defaults.concurrency must be a positive integer or "adaptive"`;
    }
    if (d.rate !== undefined) {
      try {
        parseRate(String(d.rate));
      } catch (err) {
        return `sink "${def.type}": defaults.rate ${(err as Error).message}`;
      }
    }
  }
  return undefined;
}

/** The definitions a module exports: `default` (one or an array), `sink`, `sinks`, with the export's name for messages. */
function exportedCandidates(mod: Record<string, unknown>): { where: string; value: unknown }[] {
  const out: { where: string; value: unknown }[] = [];
  const seen = new Set<unknown>(); // `export default sink; export { sink }` is one definition, not a clash with itself
  const add = (where: string, value: unknown) => {
    if (seen.has(value) || out.length >= MAX_SINKS_PER_FILE) return;
    seen.add(value);
    out.push({ where, value });
  };
  for (const key of ['default', 'sink', 'sinks']) {
    const v = mod[key];
    if (v === undefined) continue;
    if (Array.isArray(v)) v.forEach((item, i) => add(`${key}[${i}]`, item));
    else add(key, v);
  }
  return out;
}

/** line:col of the first stack frame inside `file`, so a load error points at the plugin's own code. */
function positionInStack(err: unknown, file: string): { line: number; col: number } {
  const stack = (err as Error | undefined)?.stack ?? '';
  const url = pathToFileURL(file).href;
  for (const candidate of [url, file]) {
    const at = stack.indexOf(candidate);
    if (at < 0) continue;
    const m = /^(?:\?[^:\s)]*)?:(\d+):(\d+)/.exec(stack.slice(at + candidate.length));
    if (m) return { line: Number(m[1]), col: Number(m[2]) };
  }
  return { line: 1, col: 1 };
}

let tsHooksRegistered = false;

/** `.ts` plugins load through our loader hooks (ES modules whatever the folder's package.json says); registered on first use. */
function registerTsHooks(): void {
  if (tsHooksRegistered) return;
  const here = import.meta.url as string | undefined; // undefined in the single executable (a CommonJS bundle)
  if (here === undefined) throw new Error('.ts plugins do not load in the single executable: write it as .js or .mjs');
  // Beside this module: src/sinks/ when run from source, dist/ (one folder of chunks) in the build.
  register(here.endsWith('.ts') ? './ts-plugin-hooks.ts' : './ts-plugin-hooks.js', here);
  process.setSourceMapsEnabled(true); // load errors then point at the plugin's own lines
  tsHooksRegistered = true;
}

async function importWithTimeout(file: string): Promise<Record<string, unknown>> {
  // The mtime query makes a changed file load afresh on reload; an unchanged one comes from the module cache.
  const { mtimeMs } = statSync(file);
  const isTs = extname(file) === '.ts';
  if (isTs) registerTsHooks();
  const url = new URL(pathToFileURL(file));
  url.searchParams.set('v', String(Math.floor(mtimeMs)));
  if (isTs) url.searchParams.set(PLUGIN_MARK, dirname(file)); // the folder whose .ts files load as plugin code
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`did not finish loading within ${IMPORT_TIMEOUT_MS / 1000}s`)),
      IMPORT_TIMEOUT_MS,
    );
  });
  try {
    return (await Promise.race([import(url.href), timeout])) as Record<string, unknown>;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Load every plugin in `dir`. `reserved` maps type names already taken (the built-ins) to their origin.
 * Problems name the plugin file; whatever is valid still loads.
 * @example
 * const { sinks, problems } = await loadPlugins({ dir: './plugins', reserved: new Map([['http', 'built-in']]), logger });
 */
export async function loadPlugins(opts: {
  dir: string;
  reserved: ReadonlyMap<string, string>;
  logger: Logger;
}): Promise<{ sinks: PluginSink[]; problems: Problem[] }> {
  const problems: Problem[] = [];
  const sinks: PluginSink[] = [];
  const owners = new Map(opts.reserved);
  let files: string[];
  try {
    files = await listPluginFiles(opts.dir);
  } catch (err) {
    return {
      sinks,
      problems: [
        { file: opts.dir, line: 1, col: 1, message: `cannot read the plugins folder: ${(err as Error).message}` },
      ],
    };
  }
  if (files.length > MAX_PLUGIN_FILES) {
    problems.push({
      file: opts.dir,
      line: 1,
      col: 1,
      message: `more than ${MAX_PLUGIN_FILES} plugin files; only the first ${MAX_PLUGIN_FILES} are loaded`,
    });
    files = files.slice(0, MAX_PLUGIN_FILES);
  }
  for (const file of files) {
    let mod: Record<string, unknown>;
    try {
      mod = await importWithTimeout(file);
    } catch (err) {
      problems.push({
        file,
        ...positionInStack(err, file),
        message: `plugin failed to load: ${(err as Error)?.message ?? String(err)}`,
      });
      continue;
    }
    const candidates = exportedCandidates(mod);
    if (candidates.length === 0) {
      problems.push({
        file,
        line: 1,
        col: 1,
        message: 'plugin exports no sink definition (export default defineSink({...}), or named `sink` / `sinks`)',
      });
      continue;
    }
    for (const { where, value } of candidates) {
      const reason = checkSinkDefinition(value);
      if (reason) {
        problems.push({ file, line: 1, col: 1, message: `export \`${where}\` ${reason}` });
        continue;
      }
      const definition = value as SinkDefinition;
      const owner = owners.get(definition.type);
      if (owner !== undefined) {
        problems.push({
          file,
          line: 1,
          col: 1,
          message: `sink type "${definition.type}" is already declared by ${owner}; this one is not loaded`,
        });
        continue;
      }
      owners.set(definition.type, file);
      sinks.push({ definition, file });
      opts.logger.debug({ plugin: file, type: definition.type }, 'plugin sink type loaded');
    }
  }
  return { sinks, problems };
}
