// JSONata expressions compiled once, evaluated with a time box and a depth limit, plus hookroute's bound functions.
// Expressions in the common subset also get a synchronous fast path (fast-path.ts) that gives the same results.
import jsonata from 'jsonata';
import { compileFastPath, NEEDS_JSONATA } from './fast-path.ts';
import { canonicalHash, dedupeKey, iterableDate } from './functions.ts';

export { NEEDS_JSONATA } from './fast-path.ts';
export { truthy } from './truthy.ts';

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
  /** True when the expression has a synchronous fast path (some inputs may still need JSONata). */
  readonly fast: boolean;
  /** Resolves with the result (plain JSON values; `undefined` for no result); rejects with an `ExpressionError`. */
  evaluate(input: unknown): Promise<unknown>;
  /**
   * The result computed synchronously, or `NEEDS_JSONATA` when only `evaluate` can give it (no fast path, or this
   * input needs JSONata's own semantics or error). Never throws. The result may share objects with `input`: read only.
   */
  evaluateSync(input: unknown): unknown;
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

/**
 * Compile a JSONata expression once. Throws `ExpressionError` (with `position`) on a syntax error.
 * Expressions in the fast path's subset (fast-path.ts) are evaluated without the JSONata engine whenever the input allows.
 * @example
 * const expr = compileExpression('{ "to": email, "at": $iterableDate(dataFields.createdAt) }', { timeoutMs: 100 });
 * await expr.evaluate(event.body); // { to: 'u@x.com', at: '2016-12-02T20:21:04.000Z' }
 */
export function compileExpression(source: string, limits: EvalLimits): CompiledExpression {
  const { expr, evaluate } = compileJsonata(source, limits);
  const fast = compileFastPath(expr.ast(), {
    maxDepth: limits.maxDepth ?? DEFAULT_DEPTH,
    maxSequence: limits.maxSequence ?? DEFAULT_SEQUENCE,
  });
  if (!fast) return { source, fast: false, evaluate, evaluateSync: () => NEEDS_JSONATA };
  return {
    source,
    fast: true,
    evaluate(input) {
      const result = fast(input);
      return result === NEEDS_JSONATA ? evaluate(input) : Promise.resolve(result);
    },
    evaluateSync: fast,
  };
}

/**
 * The expression evaluated by the JSONata engine only, with the limits and the bound functions: what the fast path
 * falls back to, and the reference it is tested against. Throws `ExpressionError` on a syntax error.
 */
export function compileJsonata(
  source: string,
  limits: EvalLimits,
): { expr: jsonata.Expression; evaluate: (input: unknown) => Promise<unknown> } {
  let expr: jsonata.Expression;
  try {
    expr = jsonata(source, {
      timeout: limits.timeoutMs,
      stack: limits.maxDepth ?? DEFAULT_DEPTH,
      sequence: limits.maxSequence ?? DEFAULT_SEQUENCE,
    } as jsonata.JsonataOptions);
  } catch (err) {
    const e = err as { message?: string; code?: string; position?: number };
    // jsonata reports the offset just past the offending token (1-based end); step back onto the token.
    throw new ExpressionError(
      e.message ?? String(err),
      e.code,
      typeof e.position === 'number' ? Math.max(0, e.position - 1) : undefined,
    );
  }
  expr.registerFunction('iterableDate', iterableDate, '<x-:s>');
  expr.registerFunction('hash', canonicalHash, '<x-:s>');
  expr.registerFunction(
    'dedupeKey',
    function (this: jsonata.Focus, event?: unknown) {
      return dedupeKey(event === undefined ? this.input : event);
    },
    '<x?:s>',
  );
  expr.assign(ENTRY_HOOK as unknown as string, yieldNowAndThen);
  return {
    expr,
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

/** The entry hook runs before every step; `env.base` is the one frame that belongs to this evaluation. */
function yieldNowAndThen(
  _expr: unknown,
  _input: unknown,
  env: { base: { hookrouteSteps?: number; hookrouteSince?: number } },
): Promise<void> | undefined {
  const base = env.base;
  const steps = (base.hookrouteSteps = (base.hookrouteSteps ?? 0) + 1);
  if (steps === 1) base.hookrouteSince = performance.now();
  if (steps % CHECK_EVERY !== 0) return undefined;
  const now = performance.now();
  if (now - base.hookrouteSince! < YIELD_AFTER_MS) return undefined;
  base.hookrouteSince = now;
  return new Promise((resolve) => setImmediate(resolve));
}

/** JSONata results can be arrays tagged as sequences and can hold functions: keep only plain JSON values. */
function toPlain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value === 'function') return undefined;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const plain = toPlain(v);
      if (plain !== undefined)
        Object.defineProperty(out, k, { value: plain, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}
