// TypeBox validation of one pipeline value (or one sink's options) as key-path messages: unknown keys at the key, one message per bad value.
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import {
  DURATION_HINT,
  SIZE_HINT,
  describeUnion,
  reportSchemaErrors,
  subschemaAt,
  type JsonSchema,
  type KeyPath,
  type UnionHint,
} from '../schema-kit/schema-errors.ts';

// Re-exported: the pipeline and test-file loaders word their own messages with them.
export { keyPath, type KeyPath } from '../schema-kit/schema-errors.ts';
/** Receives one problem: where (key path), what, and whether it points at the key rather than its value. */
export type AddProblem = (path: KeyPath, message: string, opts?: { key?: boolean }) => void;

// Any string branch whose pattern names duration units reads as a duration, so a plugin's own duration union does too.
const UNION_HINTS: UnionHint[] = [
  SIZE_HINT,
  { matches: (pattern) => pattern.includes('ms|s|m|h'), message: DURATION_HINT.message },
];

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
  let suppressed = false;
  if (!validator.Check(value)) {
    // A mapping given for a union with one mapping branch is reported at its own keys, not as "must be … or a mapping".
    const mappingBranch = (path: KeyPath) => {
      const rel = path.slice(base.length);
      const v = valueAt(value, rel);
      return (
        v !== null &&
        typeof v === 'object' &&
        !Array.isArray(v) &&
        subschemaAt(schema as JsonSchema, rel)?.anyOf?.filter((b) => b.properties).length === 1
      );
    };
    const reported: AddProblem = (p, m, o) => {
      if (mappingBranch(p)) suppressed = true;
      else counted(p, m, o);
    };
    reportSchemaErrors(validator.Errors(value), base, reported, (path, error) => {
      const rel = path.slice(base.length);
      const at = subschemaAt(schema as JsonSchema, rel);
      return error.keyword === 'pattern' && at?.pattern
        ? patternMessage(at, valueAt(value, rel))
        : describeUnion(at, error.message, UNION_HINTS);
    });
  }
  return count === 0 && !suppressed;
}

function unknownKeys(value: unknown, schema: JsonSchema | undefined, path: KeyPath, add: AddProblem): void {
  if (!schema || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((item, i) => unknownKeys(item, schema.items, [...path, i], add));
    return;
  }
  if (!schema.properties) {
    // A union with one mapping branch (e.g. `dedupe: true | {key, window}`): a mapping value is checked against it.
    const mapping = schema.anyOf?.filter((b) => b.properties);
    if (mapping?.length === 1) unknownKeys(value, mapping[0], path, add);
    return;
  }
  const open = schema.additionalProperties !== undefined && schema.additionalProperties !== false;
  for (const [key, child] of Object.entries(value)) {
    // Own properties only: `constructor`, `toString` or `__proto__` must not resolve to Object.prototype members.
    const childSchema = Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
    if (childSchema) unknownKeys(child, childSchema, [...path, key], add);
    else if (!open) {
      const known = Object.keys(schema.properties);
      add(
        [...path, key],
        known.length ? `unknown key (known: ${known.join(', ')})` : 'unknown key (this takes no options)',
        { key: true },
      );
    }
  }
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
  for (const seg of path)
    node = node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>)[seg] : undefined;
  return node;
}
