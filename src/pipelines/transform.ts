// JSONata expressions compiled once, evaluated with a time box and a depth limit, plus hookroute's bound functions.
import jsonata from 'jsonata';
import { canonicalHash, dedupeKey, iterableDate } from './functions.ts';

/** Limits on one evaluation. */
export interface EvalLimits {
  /** Wall-clock time box of one evaluation, in milliseconds. */
  timeoutMs: number;
  /** Deepest evaluation stack (nested calls and sub-expressions) before the evaluation fails. */
  maxDepth?: number;
  /** Longest sequence an expression may build (e.g. with `[1..n]`). */
  maxSequence?: number;
}

/** A JSONata expression ready to run against event bodies. */
export interface CompiledExpression {
  readonly source: string;
  /** Resolves with the result (plain JSON values; `undefined` for no result); rejects with an `ExpressionError`. */
  evaluate(input: unknown): Promise<unknown>;
}

/** A syntax error (`position` is the 0-based offset in the source) or an evaluation failure. */
export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly code?: string,
    readonly position?: number,
  ) {
    super(message);
    this.name = 'ExpressionError';
  }
}

const DEFAULT_DEPTH = 500;
const DEFAULT_SEQUENCE = 1_000_000;
// A long evaluation gives the event loop a turn every few milliseconds (checked every CHECK_EVERY steps),
// so ingress keeps answering while it runs; short evaluations never pay for it.
const CHECK_EVERY = 64;
const YIELD_AFTER_MS = 5;
const ENTRY_HOOK = Symbol.for('jsonata.__evaluate_entry');
const RESERVED = new Set(['and', 'or', 'in', 'true', 'false', 'null']);
const PLAIN_PATH = /^\s*[A-Za-z_][A-Za-z0-9_]*(\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)*\s*$/;

/**
 * Compile a JSONata expression once. Throws `ExpressionError` (with `position`) on a syntax error.
 * `$` and plain paths such as `dataFields.campaignId` skip the JSONata engine.
 * @example
 * const expr = compileExpression('{ "to": email, "at": $iterableDate(dataFields.createdAt) }', { timeoutMs: 100 });
 * await expr.evaluate(event.body); // { to: 'u@x.com', at: '2016-12-02T20:21:04.000Z' }
 */
export function compileExpression(source: string, limits: EvalLimits): CompiledExpression {
  const fast = fastPath(source, limits);
  if (fast) return { source, evaluate: async (input) => fast(input) };
  let expr: jsonata.Expression;
  try {
    expr = jsonata(source, { timeout: limits.timeoutMs, stack: limits.maxDepth ?? DEFAULT_DEPTH, sequence: limits.maxSequence ?? DEFAULT_SEQUENCE } as jsonata.JsonataOptions);
  } catch (err) {
    const e = err as { message?: string; code?: string; position?: number };
    // jsonata reports the offset just past the offending token (1-based end); step back onto the token.
    throw new ExpressionError(e.message ?? String(err), e.code, typeof e.position === 'number' ? Math.max(0, e.position - 1) : undefined);
  }
  expr.registerFunction('iterableDate', iterableDate, '<x-:s>');
  expr.registerFunction('hash', canonicalHash, '<x-:s>');
  expr.registerFunction('dedupeKey', function (this: jsonata.Focus, event?: unknown) {
    return dedupeKey(event === undefined ? this.input : event);
  }, '<x?:s>');
  expr.assign(ENTRY_HOOK as unknown as string, yieldNowAndThen);
  return {
    source,
    async evaluate(input) {
      try {
        return toPlain(await expr.evaluate(input));
      } catch (err) {
        const e = err as { message?: string; code?: string; position?: number };
        throw new ExpressionError(e.message ?? String(err), e.code, e.position);
      }
    },
  };
}

/** JSONata truthiness (`$boolean`): what makes a `when` predicate match. */
export function truthy(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') return value.length > 0;
  if (Array.isArray(value)) return value.some(truthy);
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return false;
}

/** The entry hook runs before every step; `env.base` is the one frame that belongs to this evaluation. */
function yieldNowAndThen(_expr: unknown, _input: unknown, env: { base: { hookrouteSteps?: number; hookrouteSince?: number } }): Promise<void> | undefined {
  const base = env.base;
  const steps = (base.hookrouteSteps = (base.hookrouteSteps ?? 0) + 1);
  if (steps === 1) base.hookrouteSince = performance.now();
  if (steps % CHECK_EVERY !== 0) return undefined;
  const now = performance.now();
  if (now - base.hookrouteSince! < YIELD_AFTER_MS) return undefined;
  base.hookrouteSince = now;
  return new Promise((resolve) => setImmediate(resolve));
}

/** `$` → the input itself; `a.b.c` → a property walk (falls back to JSONata when it meets an array, whose semantics differ). */
function fastPath(source: string, limits: EvalLimits): ((input: unknown) => unknown) | undefined {
  if (source.trim() === '$') return (input) => input;
  if (!PLAIN_PATH.test(source)) return undefined;
  const steps = source.split('.').map((s) => s.trim());
  if (steps.some((s) => RESERVED.has(s))) return undefined;
  let slow: CompiledExpression | undefined;
  return (input) => {
    let value = input;
    for (const step of steps) {
      if (Array.isArray(value)) break;
      if (value === null || typeof value !== 'object' || !Object.hasOwn(value, step)) return undefined;
      value = (value as Record<string, unknown>)[step];
    }
    if (!Array.isArray(value)) return value;
    slow ??= slowPath(source, limits);
    return slow.evaluate(input);
  };
}

function slowPath(source: string, limits: EvalLimits): CompiledExpression {
  const expr = jsonata(source, { timeout: limits.timeoutMs, stack: limits.maxDepth ?? DEFAULT_DEPTH } as jsonata.JsonataOptions);
  return { source, evaluate: async (input) => toPlain(await expr.evaluate(input)) };
}

/** JSONata results can be arrays tagged as sequences and can hold functions: keep only plain JSON values. */
function toPlain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value === 'function') return undefined;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const plain = toPlain(v);
      if (plain !== undefined) Object.defineProperty(out, k, { value: plain, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}
