// Remembers what each pipeline file compiled to, keyed by its content, so a reload recompiles only the files that changed.
import { createHash } from 'node:crypto';
import { readFileRef } from '../config/interpolate.ts';
import type { Problem } from '../schema-kit/yaml-source.ts';
import type { SinkTypes } from './compile-file.ts';
import type { CompiledPipeline } from './router.ts';

/** What compiling one file gave: the pipeline, or the problems that kept it out. */
export interface CompileOutcome {
  pipeline?: CompiledPipeline;
  problems: Problem[];
}

/** Everything besides the file's text that a compile result depends on. */
export interface CompileContext {
  sinkTypes: SinkTypes;
  env: NodeJS.ProcessEnv;
  baseDir: string;
  evalTimeoutMs: number;
}

// `${NAME}` and `${NAME:-default}`: the variables whose values are part of a file's compiled result.
const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)/g;
// `${file:PATH}`: so is the content of the files it names (a rotated secret recompiles the pipeline on reload).
const FILE_REF = /\$\{file:(?!-)([^}]*)\}/g;

/**
 * Compiled outcomes by absolute file path. A hit hands back the very same `CompiledPipeline` (same lane specs,
 * same compiled JSONata), so an unchanged file costs a hash, and its lanes and sinks see nothing new.
 * @example
 * const cache = new CompileCache();
 * await loadPipelines({ ...opts, cache });           // compiles every file
 * await loadPipelines({ ...opts, cache, previous }); // compiles only files whose content changed
 */
export class CompileCache {
  private readonly entries = new Map<string, { key: string; outcome: CompileOutcome }>();
  private sinkTypes: SinkTypes | undefined;
  private evalTimeoutMs: number | undefined;

  /** The key of `text` under `ctx`, and the cached outcome when `file` last compiled to exactly that. */
  lookup(file: string, text: string, ctx: CompileContext): { key: string; outcome?: CompileOutcome } {
    // Another sink registry (a plugin changed) or time box may compile any file differently: start over.
    if (ctx.sinkTypes !== this.sinkTypes || ctx.evalTimeoutMs !== this.evalTimeoutMs) {
      this.entries.clear();
      this.sinkTypes = ctx.sinkTypes;
      this.evalTimeoutMs = ctx.evalTimeoutMs;
    }
    const hash = createHash('sha256').update(text);
    for (const name of new Set(Array.from(text.matchAll(ENV_REF), (m) => m[1]!)).values()) {
      const value = ctx.env[name];
      hash.update(`\0${name}${value === undefined ? '\0' : `=${value}`}`);
    }
    for (const ref of new Set(Array.from(text.matchAll(FILE_REF), (m) => m[1]!)).values()) {
      const read = readFileRef(ref, ctx.baseDir);
      hash.update(`\0file:${ref}${'content' in read ? `=${read.content}` : '\0'}`);
    }
    const key = hash.digest('hex');
    const entry = this.entries.get(file);
    return entry?.key === key ? { key, outcome: entry.outcome } : { key };
  }

  store(file: string, key: string, outcome: CompileOutcome): void {
    this.entries.set(file, { key, outcome });
  }

  /** Drop entries of files that are no longer in the folder. */
  keepOnly(files: ReadonlySet<string>): void {
    for (const file of this.entries.keys()) if (!files.has(file)) this.entries.delete(file);
  }
}
