// TypeBox (JSON Schema) validation errors as key-path messages, shared by the config check and the pipeline loader.
import { Duration, Size } from './units.ts';

/** Where a value sits in a document: map keys and array indexes, e.g. `['sinks', 0, 'retry']`. */
export type KeyPath = (string | number)[];

/** The parts of a JSON Schema node read here. */
export type JsonSchema = {
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  additionalProperties?: unknown;
  pattern?: string;
  [keyword: string]: unknown;
};

/** One TypeBox validation error, as much of it as is read here. */
export interface SchemaError {
  instancePath: string;
  keyword: string;
  message: string;
  params: object;
}

/** A union recognised by the pattern of a string branch, and what to say when a value fits none of its branches. */
export interface UnionHint {
  matches: (pattern: string) => boolean;
  message: string;
}

// The string branch of the size and duration unions, recognised by their exact pattern.
const SIZE_PATTERN = (Size('0', '') as unknown as JsonSchema).anyOf?.[0]?.pattern;
const DURATION_PATTERN = (Duration(undefined, '') as unknown as JsonSchema).anyOf?.[0]?.pattern;

/** A `Size()` union from `config/schema.ts`. */
export const SIZE_HINT: UnionHint = {
  matches: (pattern) => pattern === SIZE_PATTERN,
  message: 'must be a size such as 512kb, 1mb, 10gb (or a number of bytes)',
};

/** A `Duration()` union from `config/schema.ts`. */
export const DURATION_HINT: UnionHint = {
  matches: (pattern) => pattern === DURATION_PATTERN,
  message: 'must be a duration such as 250ms, 5s, 5m, 2h (or a number of milliseconds)',
};

/** `server.port`, `sinks[0].retry.attempts`: how key paths read in messages. */
export function keyPath(path: readonly (string | number)[]): string {
  return path.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? seg : `.${seg}`)).join('');
}

/** JSON pointer (`/auth/oauth2/clients/0/id`) to path segments; numeric segments become indexes. */
export function pointerSegments(pointer: string): KeyPath {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** The node of `root` that describes the value at `path` (undefined if the path leaves the schema). Only own keys of `properties` count. */
export function subschemaAt(root: JsonSchema, path: readonly (string | number)[]): JsonSchema | undefined {
  let node: JsonSchema | undefined = root;
  for (const seg of path) {
    if (!node) return undefined;
    // Through a union with one mapping branch (`true | {key, window}`) to that branch's keys.
    if (!node.properties && typeof seg === 'string') node = node.anyOf?.find((b) => b.properties) ?? node;
    node =
      typeof seg === 'number'
        ? node.items
        : node.properties && Object.hasOwn(node.properties, seg)
          ? node.properties[seg]
          : undefined;
  }
  return node;
}

/**
 * What to say about a value that fits none of a union's branches: "must be one of" for an enum, the message of the
 * first hint that matches a string branch's pattern, else `fallback` (also for a schema that is not a union).
 */
export function describeUnion(schema: JsonSchema | undefined, fallback: string, hints: readonly UnionHint[]): string {
  const branches = schema?.anyOf;
  if (!branches) return fallback;
  if (branches.every((b) => 'const' in b))
    return `must be one of ${branches.map((b) => JSON.stringify(b.const)).join(', ')}`;
  const patterns = branches.flatMap((b) => (typeof b.pattern === 'string' ? [b.pattern] : []));
  const hinted = hints.find((hint) => patterns.some((p) => hint.matches(p)))?.message;
  if (hinted) return hinted;
  const words = branches.map(describeBranch);
  return words.every((w) => w !== undefined) ? `must be ${words.join(' or ')}` : fallback;
}

/** `an integer from 1 to 100`, `"unlimited"`: one union branch in words, or undefined when it has no short wording. */
function describeBranch(b: JsonSchema): string | undefined {
  if ('const' in b) return JSON.stringify(b.const);
  if (b.type === 'boolean') return 'true or false';
  if (b.type === 'object' && b.additionalProperties === false && b.properties)
    return `a mapping of ${Object.keys(b.properties).join(', ')}`;
  if (b.type !== 'integer' && b.type !== 'number') return undefined;
  const kind = b.type === 'integer' ? 'an integer' : 'a number';
  const { minimum: min, maximum: max } = b;
  if (typeof min === 'number' && typeof max === 'number') return `${kind} from ${min} to ${max}`;
  if (typeof min === 'number') return `${kind} ≥ ${min}`;
  return typeof max === 'number' ? `${kind} ≤ ${max}` : kind;
}

/**
 * Report validation errors found under `base`, one message per offending value. A `required` error becomes "is required"
 * at each missing key; unknown-key errors are skipped (callers report those at the key itself); `describe` words the rest,
 * given the full path of the value and the first error about it.
 */
export function reportSchemaErrors(
  errors: Iterable<SchemaError>,
  base: readonly (string | number)[],
  add: (path: KeyPath, message: string) => void,
  describe: (path: KeyPath, error: SchemaError) => string,
): void {
  const seen = new Set<string>();
  for (const error of errors) {
    if (
      error.keyword === 'additionalProperties' ||
      (error.keyword === 'boolean' && error.message === 'schema is false')
    )
      continue;
    const path = [...base, ...pointerSegments(error.instancePath)];
    if (error.keyword === 'required') {
      const missing = ((error.params as Record<string, unknown>).requiredProperties as string[] | undefined) ?? [];
      for (const name of missing) add([...path, name], 'is required');
      continue;
    }
    const id = keyPath(path);
    if (seen.has(id)) continue;
    seen.add(id);
    add(path, describe(path, error));
  }
}
