// Replicas of the jsonata 2.2 built-ins and operators that the synchronous fast path runs (fast-path.ts), kept line for
// line with jsonata's own code so results are identical; anything outside what they handle throws BAIL and JSONata runs.
import { canonicalHash, dedupeKey, iterableDate } from './functions.ts';
import { truthy } from './truthy.ts';

/** Thrown (never as an Error, so no stack is captured) when a value needs JSONata itself: an error case, an array from the input, … */
const BAIL: { readonly bail: true } = Object.freeze({ bail: true });

/** Hands the evaluation over to JSONata. */
export function bail(): never {
  throw BAIL;
}

/** JSONata takes an object marked `_jsonata_function` or `_jsonata_lambda` for a function, even in input data. */
export function looksLikeFunction(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false;
  const marks = v as { _jsonata_function?: unknown; _jsonata_lambda?: unknown };
  return marks._jsonata_function === true || marks._jsonata_lambda === true;
}

/** A built-in as the fast path calls it: `args` already evaluated; `context` is what JSONata substitutes for a missing argument. */
export interface FastFunction {
  minArgs: number;
  maxArgs: number;
  call(args: unknown[], context: unknown): unknown;
}

/** jsonata's `$string` (also what `&` applies to each side). */
export function jsonataString(arg: unknown): string | undefined {
  if (arg === undefined) return undefined;
  if (typeof arg === 'string') return arg;
  if (typeof arg === 'number' && !Number.isFinite(arg)) bail(); // D3001
  // jsonata rounds non-integers to 15 significant digits, at every level of an object.
  return JSON.stringify(arg, (_key, val: unknown) => {
    if (typeof val === 'number') {
      if (!Number.isFinite(val)) bail(); // D1001
      return Number.isInteger(val) ? val : Number(val.toPrecision(15));
    }
    return looksLikeFunction(val) ? '' : val;
  });
}

/** jsonata's `$boolean`: undefined stays undefined. */
export function jsonataBoolean(arg: unknown): boolean | undefined {
  return arg === undefined ? undefined : truthy(arg);
}

/** jsonata's `$number` for the inputs it accepts; anything it refuses (D3030) goes to JSONata for the error. */
export function jsonataNumber(arg: unknown): number | undefined {
  if (arg === undefined) return undefined;
  if (typeof arg === 'number') return arg;
  if (
    typeof arg === 'string' &&
    /^-?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)?$/.test(arg) &&
    !isNaN(parseFloat(arg)) &&
    isFinite(Number(arg))
  )
    return parseFloat(arg);
  if (typeof arg === 'string' && /^(0[xX][0-9A-Fa-f]+)|(0[oO][0-7]+)|(0[bB][0-1]+)$/.test(arg)) return Number(arg);
  if (arg === true) return 1;
  if (arg === false) return 0;
  return bail();
}

/** jsonata's `$substring`: indexes count code points, a negative start counts from the end. */
export function jsonataSubstring(
  str: string | undefined,
  start: number | undefined,
  length: number | undefined,
): string | undefined {
  if (str === undefined) return undefined;
  const chars = Array.from(str);
  const strLength = chars.length;
  let from = start as number;
  if (strLength + from < 0) from = 0;
  if (length !== undefined) {
    if (length <= 0) return '';
    const end = from >= 0 ? from + length : strLength + from + length;
    return chars.slice(from, end).join('');
  }
  return chars.slice(from).join('');
}

/** jsonata's `$merge` over objects already checked by its signature (`<a<o>:o>`). */
export function jsonataMerge(objects: readonly Record<string, unknown>[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const obj of objects) {
    for (const prop of Object.keys(obj)) {
      // jsonata merges into a prototype-less object; assigning `__proto__` here would not make a key at all.
      if (prop === '__proto__') bail();
      result[prop] = obj[prop];
    }
  }
  return result;
}

/** jsonata's `=`: deep equality, object keys in any order. */
export function jsonataDeepEqual(lhs: unknown, rhs: unknown): boolean {
  if (lhs === rhs) return true;
  if (typeof lhs === 'object' && typeof rhs === 'object' && lhs !== null && rhs !== null) {
    if (Array.isArray(lhs) && Array.isArray(rhs)) {
      if (lhs.length !== rhs.length) return false;
      for (let i = 0; i < lhs.length; i++) if (!jsonataDeepEqual(lhs[i], rhs[i])) return false;
      return true;
    }
    const lkeys = Object.getOwnPropertyNames(lhs).sort();
    const rkeys = Object.getOwnPropertyNames(rhs).sort();
    if (lkeys.length !== rkeys.length) return false;
    for (let i = 0; i < lkeys.length; i++) if (lkeys[i] !== rkeys[i]) return false;
    for (const key of lkeys)
      if (!jsonataDeepEqual((lhs as Record<string, unknown>)[key], (rhs as Record<string, unknown>)[key])) return false;
    return true;
  }
  return false;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A `<s-…>` argument: a string or missing, else JSONata's T0410/T0411. */
function stringArg(v: unknown): string | undefined {
  return v === undefined || typeof v === 'string' ? v : bail();
}

function numberArg(v: unknown): number | undefined {
  return v === undefined || typeof v === 'number' ? v : bail();
}

/** With no argument, a `-` signature parameter takes the context. */
const argOrContext = (args: unknown[], context: unknown): unknown => (args.length === 0 ? context : args[0]);

/**
 * The functions the fast path calls by name: jsonata built-ins whose semantics are replicated here, and hookroute's
 * bound functions (functions.ts). Argument counts outside [minArgs, maxArgs] are left to JSONata (a signature error).
 */
export const FAST_FUNCTIONS: ReadonlyMap<string, FastFunction> = new Map<string, FastFunction>([
  ['string', { minArgs: 0, maxArgs: 1, call: (a, c) => jsonataString(argOrContext(a, c)) }],
  [
    'number',
    {
      minArgs: 0,
      maxArgs: 1,
      call: (a, c) => {
        const v = argOrContext(a, c);
        return v === undefined || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean'
          ? jsonataNumber(v)
          : bail();
      },
    },
  ],
  ['lowercase', { minArgs: 0, maxArgs: 1, call: (a, c) => stringArg(argOrContext(a, c))?.toLowerCase() }],
  ['uppercase', { minArgs: 0, maxArgs: 1, call: (a, c) => stringArg(argOrContext(a, c))?.toUpperCase() }],
  [
    'substring',
    {
      minArgs: 2,
      maxArgs: 3,
      // With a number (or anything but a string) first, jsonata's signature would take the context as the string: left to JSONata.
      call: (a) => jsonataSubstring(stringArg(a[0]), numberArg(a[1]), numberArg(a[2])),
    },
  ],
  ['exists', { minArgs: 1, maxArgs: 1, call: (a) => a[0] !== undefined }],
  ['boolean', { minArgs: 0, maxArgs: 1, call: (a, c) => jsonataBoolean(argOrContext(a, c)) }],
  [
    'not',
    {
      minArgs: 0,
      maxArgs: 1,
      call: (a, c) => {
        const v = argOrContext(a, c);
        return v === undefined ? undefined : !truthy(v);
      },
    },
  ],
  [
    'merge',
    {
      minArgs: 1,
      maxArgs: 1,
      call: (a) => {
        const arg = a[0];
        if (arg === undefined) return undefined;
        if (isObject(arg)) return jsonataMerge([arg]);
        if (Array.isArray(arg) && arg.every(isObject)) return jsonataMerge(arg);
        return bail(); // T0412: not an array of objects
      },
    },
  ],
  ['iterableDate', { minArgs: 0, maxArgs: 1, call: (a, c) => iterableDate(argOrContext(a, c)) }],
  ['hash', { minArgs: 0, maxArgs: 1, call: (a, c) => canonicalHash(argOrContext(a, c)) }],
  ['dedupeKey', { minArgs: 0, maxArgs: 1, call: (a, c) => dedupeKey(a[0] === undefined ? c : a[0]) }],
]);
