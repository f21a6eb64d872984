// One pipeline file → a compiled pipeline (schema, sink options, policies, JSONata), or every problem found in it with its position.
import { basename, extname } from 'node:path';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { interpolate, type InterpolationProblem } from '../config/interpolate.ts';
import { compilePolicy } from '../delivery/policy.ts';
import { parseYamlSource, type Problem } from '../schema-kit/yaml-source.ts';
import type { SinkDefinition } from '../sinks/define.ts';
import { expressionPosition } from './jsonata/expression-position.ts';
import { compileDedupe } from './dedupe.ts';
import { canonicalHash } from './jsonata/functions.ts';
import { globProblem } from './match.ts';
import type { CompiledLane, CompiledPipeline } from './router.ts';
import { checkAgainst, keyPath, type KeyPath } from './schema-problems.ts';
import { COMMON_SINK_KEYS, PipelineSchema, type PipelineInput } from './schema.ts';
import type { LaneSpec } from './table.ts';
import { compileExpression, ExpressionError, type CompiledExpression } from './jsonata/transform.ts';
import { unsafeRegexes } from './jsonata/regex-guard.ts';
import { laneKey } from './lane-key.ts';

/** The sink types a pipeline may use (the registry of built-in and plugin sinks). */
export interface SinkTypes {
  get(type: string): SinkDefinition | undefined;
  types(): string[];
}

export interface CompileFileOptions {
  /** Absolute path: it names the pipeline's lanes' source. */
  file: string;
  /** Path as problems print it. */
  displayFile: string;
  text: string;
  sinkTypes: SinkTypes;
  env: NodeJS.ProcessEnv;
  /** Folder a relative `${file:PATH}` resolves against (the config file's). */
  baseDir: string;
  evalTimeoutMs: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const COMMON = new Set<string>(COMMON_SINK_KEYS);

/** Compile one pipeline file. Never throws: `pipeline` is set only when `problems` is empty. */
export function compilePipelineFile(opts: CompileFileOptions): { pipeline?: CompiledPipeline; problems: Problem[] } {
  const { file, displayFile, text } = opts;
  const source = parseYamlSource(text, displayFile);
  const problems: Problem[] = [...source.errors];
  const at = (path: KeyPath, message: string, o?: { key?: boolean }) => {
    problems.push({
      file: displayFile,
      ...source.positionOf(path, o),
      message: path.length ? `${keyPath(path)}: ${message}` : message,
    });
  };
  if (problems.length) return { problems };
  if (source.value === null || typeof source.value !== 'object' || Array.isArray(source.value)) {
    at([], 'a pipeline file must be a mapping with at least `sinks:` (see docs/pipelines.md)');
    return { problems };
  }

  const missing: InterpolationProblem[] = [];
  const interpolated = interpolate(
    protectJsonata(source.value as Record<string, unknown>),
    { env: opts.env, baseDir: opts.baseDir },
    missing,
  ) as Record<string, unknown>;
  for (const m of missing) at(m.path, m.message);
  const doc = Value.Default(PipelineSchema, structuredClone(interpolated)) as PipelineInput;
  if (!checkAgainst(PipelineSchema, doc, [], at) || problems.length)
    return { problems: problems.sort((a, b) => a.line - b.line || a.col - b.col) };

  const name = doc.name ?? basename(file, extname(file));
  if (!NAME.test(name))
    at(
      [],
      `pipeline name "${name}" (from the file name) is not valid: add a \`name:\` of letters, digits, "_", "." and "-"`,
    );
  doc.match?.events?.forEach((pattern, i) => {
    const why = globProblem(pattern);
    if (why) at(['match', 'events', i], why);
  });

  const compileAt = (path: KeyPath, expression: string | undefined): CompiledExpression | undefined => {
    if (expression === undefined) return undefined;
    try {
      const compiled = compileExpression(expression, { timeoutMs: opts.evalTimeoutMs });
      for (const r of unsafeRegexes(expression)) {
        const pos = expressionPosition(text, source.positionOf(path), r.position);
        problems.push({
          file: displayFile,
          ...pos,
          message: `${keyPath(path)}: regex /${r.source}/ can backtrack catastrophically on hostile input (a quantified group inside another quantifier); rewrite it without nesting quantifiers`,
        });
      }
      return compiled;
    } catch (err) {
      const e = err as ExpressionError;
      const pos = expressionPosition(text, source.positionOf(path), e.position);
      problems.push({
        file: displayFile,
        ...pos,
        message: `${keyPath(path)}: JSONata ${e.code ? `${e.code} ` : ''}${e.message}`,
      });
      return undefined;
    }
  };
  const when = compileAt(['match', 'when'], doc.match?.when);
  const transform = compileAt(['transform'], doc.transform);
  const dedupe = compileDedupe(doc.dedupe, (key) => compileAt(['dedupe', 'key'], key));

  const lanes: CompiledLane[] = [];
  const ids = new Set<string>();
  const perType = new Map<string, number>();
  doc.sinks.forEach((entry, i) => {
    const rawEntry = (interpolated.sinks as Record<string, unknown>[])[i]!;
    const def = opts.sinkTypes.get(entry.type);
    if (!def) {
      at(
        ['sinks', i, 'type'],
        `unknown sink type "${entry.type}" (known: ${opts.sinkTypes.types().sort().join(', ') || 'none'})`,
      );
      return;
    }
    let sinkId = entry.name;
    if (sinkId === undefined) {
      const n = (perType.get(entry.type) ?? 0) + 1;
      perType.set(entry.type, n);
      sinkId = n === 1 ? entry.type : `${entry.type}-${n}`;
    }
    if (ids.has(sinkId))
      at(
        ['sinks', i, ...(entry.name ? ['name'] : [])],
        `duplicate sink id "${sinkId}" in this pipeline: give each sink a distinct \`name:\``,
      );
    ids.add(sinkId);

    if (entry.batch !== undefined && def.batches !== true)
      at(
        ['sinks', i, 'batch'],
        `sink type "${entry.type}" cannot send batches: remove \`batch:\` (it sends one event at a time)`,
        { key: true },
      );
    const options = sinkOptions(def.options, rawEntry, ['sinks', i], at);
    const policies = lanePolicies(def, rawEntry, ['sinks', i], at);
    const sinkTransform = compileAt(['sinks', i, 'transform'], entry.transform);
    if (!options || !policies) return;
    const spec: LaneSpec = {
      key: laneKey(name, sinkId),
      pipeline: name,
      sinkId,
      type: entry.type,
      options,
      ...policies,
      fingerprint: canonicalHash({ type: entry.type, options, ...policies }),
      source: { file, line: source.positionOf(['sinks', i]).line },
    };
    lanes.push({ spec, ...(sinkTransform ? { transform: sinkTransform } : {}) });
  });

  if (problems.length) return { problems: problems.sort((a, b) => a.line - b.line || a.col - b.col) };
  const pipeline: CompiledPipeline = {
    info: {
      name,
      file,
      ...(doc.description !== undefined ? { description: doc.description } : {}),
      enabled: doc.enabled,
      catchAll: doc.catchAll,
      ...(doc.match?.events ? { events: [...doc.match.events] } : {}),
      lanes: lanes.map((l) => l.spec.key),
      ...(dedupe ? { dedupe: { key: dedupe.source, windowMs: dedupe.windowMs, maxKeys: dedupe.maxKeys } } : {}),
    },
    ...(when ? { when } : {}),
    ...(dedupe ? { dedupe } : {}),
    ...(transform ? { transform } : {}),
    lanes,
  };
  return { pipeline, problems };
}

/** The sink's own options (common keys removed), defaults applied and checked against the sink type's schema. */
function sinkOptions(
  schema: TSchema,
  entry: Record<string, unknown>,
  base: KeyPath,
  at: (p: KeyPath, m: string, o?: { key?: boolean }) => void,
) {
  const own: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry)) {
    if (!COMMON.has(k))
      Object.defineProperty(own, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  const options = Value.Default(schema, structuredClone(own)) as Record<string, unknown>;
  return checkAgainst(schema, options, base, at) ? options : undefined;
}

/** The entry's delivery policy (see delivery/policy.ts); a bad unit becomes a problem at the entry. */
function lanePolicies(
  def: SinkDefinition,
  entry: Record<string, unknown>,
  base: KeyPath,
  at: (p: KeyPath, m: string) => void,
) {
  try {
    return compilePolicy(entry, def.defaults);
  } catch (err) {
    at(base, (err as Error).message);
    return undefined;
  }
}

/**
 * `$$` is JSONata's root-context variable, but `interpolate` reads it as an escaped `$`: double it first in the
 * JSONata fields so it survives, while `${VAR}` still works inside expressions.
 */
function protectJsonata(doc: Record<string, unknown>): Record<string, unknown> {
  const out = { ...doc };
  const esc = (v: unknown) => (typeof v === 'string' ? v.replaceAll('$$', () => '$$$$') : v);
  if ('transform' in out) out.transform = esc(out.transform);
  if (out.dedupe !== null && typeof out.dedupe === 'object' && !Array.isArray(out.dedupe) && 'key' in out.dedupe)
    out.dedupe = { ...out.dedupe, key: esc((out.dedupe as Record<string, unknown>).key) };
  if (out.match !== null && typeof out.match === 'object' && !Array.isArray(out.match)) {
    const match = { ...(out.match as Record<string, unknown>) };
    if ('when' in match) match.when = esc(match.when);
    out.match = match;
  }
  if (Array.isArray(out.sinks)) {
    out.sinks = out.sinks.map((s: unknown) =>
      s !== null && typeof s === 'object' && !Array.isArray(s) && 'transform' in s
        ? { ...s, transform: esc((s as Record<string, unknown>).transform) }
        : s,
    );
  }
  return out;
}
