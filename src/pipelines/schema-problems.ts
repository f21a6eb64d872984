// TypeBox validation of one pipeline value (or one sink's options) as key-path messages: unknown keys at the key, one message per bad value.
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';

export type KeyPath = (string | number)[];
/** Receives one problem: where (key path), what, and whether it points at the key rather than its value. */
export type AddProblem = (path: KeyPath, message: string, opts?: { key?: boolean }) => void;

type JsonSchema = {
  type?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  additionalProperties?: unknown;
  pattern?: string;
};

/** `sinks[0].retry.attempts`: how key paths read in messages. */
export function keyPath(path: readonly (string | number)[]): string {
  return path.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? seg : `.${seg}`)).join('');
}

const validators = new WeakMap<TSchema, ReturnType<typeof Compile>>();

/** The compiled validator of `schema`, compiled once per schema object. */
export function validatorFor(schema: TSchema): ReturnType<typeof Compile> {
  let v = validators.get(schema);
  if (!v) {
    v = Compile(schema);
    validators.set(schema, v);
  }
  return v;
}

/**
 * Check `value` against `schema` and report every problem under `base`. A schema object without an explicit
 * `additionalProperties: true` is treated as closed, so a misspelt option is reported instead of ignored.
 * Returns true when there was no problem.
 */
export function checkAgainst(schema: TSchema, value: unknown, base: KeyPath, add: AddProblem): boolean {
  let count = 0;
  const counted: AddProblem = (p, m, o) => {
    count++;
    add(p, m, o);
  };
  unknownKeys(value, schema as JsonSchema, base, counted);
  const validator = validatorFor(schema);
  if (!validator.Check(value)) {
    const seen = new Set<string>();
    for (const error of validator.Errors(value)) {
      if (error.keyword === 'additionalProperties' || (error.keyword === 'boolean' && error.message === 'schema is false')) continue;
      const path = [...base, ...pointerSegments(error.instancePath)];
      if (error.keyword === 'required') {
        const missing = ((error.params as Record<string, unknown>).requiredProperties as string[] | undefined) ?? [];
        for (const name of missing) counted([...path, name], 'is required');
        continue;
      }
      const id = keyPath(path);
      if (seen.has(id)) continue;
      seen.add(id);
      const at = schemaAt(schema as JsonSchema, path.slice(base.length));
      counted(path, error.keyword === 'pattern' && at?.pattern ? patternMessage(at, valueAt(value, path.slice(base.length))) : describe(at, error.message));
    }
  }
  return count === 0;
}

function unknownKeys(value: unknown, schema: JsonSchema | undefined, path: KeyPath, add: AddProblem): void {
  if (!schema || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((item, i) => unknownKeys(item, schema.items, [...path, i], add));
    return;
  }
  if (!schema.properties) return;
  const open = schema.additionalProperties !== undefined && schema.additionalProperties !== false;
  for (const [key, child] of Object.entries(value)) {
    const childSchema = schema.properties[key];
    if (childSchema) unknownKeys(child, childSchema, [...path, key], add);
    else if (!open) add([...path, key], `unknown key (known: ${Object.keys(schema.properties).join(', ')})`, { key: true });
  }
}

function describe(schema: JsonSchema | undefined, fallback: string): string {
  const branches = schema?.anyOf;
  if (!branches) return fallback;
  if (branches.every((b) => 'const' in b)) return `must be one of ${branches.map((b) => JSON.stringify((b as { const: unknown }).const)).join(', ')}`;
  if (branches.some((b) => b.pattern?.includes('ms|s|m|h'))) return 'must be a duration such as 250ms, 5s, 5m, 2h (or a number of milliseconds)';
  return fallback;
}

/** "fast" is not in the expected form (e.g. 1/s): the schema's example says more than its regular expression. */
function patternMessage(schema: JsonSchema | undefined, value: unknown): string {
  const shown = JSON.stringify(typeof value === 'string' && value.length > 80 ? `${value.slice(0, 80)}…` : value);
  const examples = (schema as { examples?: unknown[] } | undefined)?.examples;
  const hint = examples?.length ? `e.g. ${examples.map(String).join(', ')}` : `pattern ${schema?.pattern}`;
  return `${shown} is not in the expected form (${hint})`;
}

function valueAt(value: unknown, path: KeyPath): unknown {
  let node = value;
  for (const seg of path) node = node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>)[seg] : undefined;
  return node;
}

function schemaAt(root: JsonSchema, path: KeyPath): JsonSchema | undefined {
  let node: JsonSchema | undefined = root;
  for (const seg of path) node = typeof seg === 'number' ? node?.items : node?.properties?.[seg];
  return node;
}

/** JSON pointer (`/sinks/0/retry`) to path segments; numeric segments become indexes. */
function pointerSegments(pointer: string): KeyPath {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}
