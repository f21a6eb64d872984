// Schemas as reference docs: one markdown table per schema (key, type, default, description), shared by config and sinks.
import { stringify } from 'yaml';
import { Duration, Size } from './units.ts';

/** The parts of a JSON Schema node the docs read. */
export interface SchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  examples?: unknown[];
  secret?: boolean;
  const?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  anyOf?: SchemaNode[];
  items?: SchemaNode;
  properties?: Record<string, SchemaNode>;
  required?: string[];
}

const SIZE_PATTERN = (Size('0', '') as unknown as SchemaNode).anyOf?.[0]?.pattern;
const DURATION_PATTERN = (Duration(undefined, '') as unknown as SchemaNode).anyOf?.[0]?.pattern;

/**
 * The markdown table of every key under `schema` (nested objects and lists of objects included): key path, type,
 * default and description. `prefix` is put before every key path (e.g. `retry`).
 * @example
 * referenceTable(ConfigSchema) // '| Key | Type | Default | Description |\n|---|---|---|---|\n| `server.host` | string | ...'
 */
export function referenceTable(schema: unknown, prefix = ''): string {
  const rows = ['| Key | Type | Default | Description |', '|---|---|---|---|'];
  const walk = (node: SchemaNode, path: string) => {
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      const key = path ? `${path}.${name}` : name;
      const optional = !(node.required ?? []).includes(name) && child.default === undefined;
      const def =
        child.default === undefined || isEmptyObject(child.default)
          ? optional
            ? 'not set'
            : child.default === undefined
              ? 'required'
              : ''
          : `\`${flow(child.default)}\``;
      rows.push(`| \`${key}\` | ${typeName(child)} | ${def} | ${cell(describe(child))} |`);
      if (child.properties) walk(child, key);
      if (child.items?.properties) walk(child.items, `${key}[]`);
    }
  };
  walk(schema as SchemaNode, prefix);
  return `${rows.join('\n')}\n`;
}

/** The description, plus the allowed values when it does not already name each of them. */
export function describe(node: SchemaNode): string {
  const text = node.description ?? '';
  const values = literals(node);
  if (!values || values.every((v) => text.includes(`\`${v}\``))) return text;
  return `${text}${text ? ' ' : ''}One of: ${values.map((v) => `\`${v}\``).join(', ')}.`;
}

function literals(node: SchemaNode): string[] | undefined {
  return node.anyOf?.every((b) => 'const' in b) ? node.anyOf.map((b) => String(b.const)) : undefined;
}

function typeName(node: SchemaNode): string {
  const values = literals(node);
  if (values) return values.map((v) => `\`${v}\``).join(' \\| ');
  const pattern = node.anyOf?.find((b) => b.pattern)?.pattern;
  if (pattern === SIZE_PATTERN) return 'size';
  if (pattern === DURATION_PATTERN) return 'duration';
  // A mixed union (`attempts: 8` or `unlimited`): each branch by itself.
  if (node.anyOf) return node.anyOf.map((b) => ('const' in b ? `\`${String(b.const)}\`` : typeName(b))).join(' \\| ');
  if (node.type === 'array')
    return node.items?.properties
      ? 'list of objects'
      : `list of ${node.items?.type ?? (node.items && literals(node.items) ? 'string' : 'value')}s`;
  if (node.type === 'integer' && node.minimum !== undefined && node.maximum !== undefined)
    return `integer ${node.minimum}–${node.maximum}`;
  if (node.type === 'integer' && node.minimum !== undefined) return `integer ≥ ${node.minimum}`;
  if (node.type === 'string' && node.secret) return 'string (secret)';
  return node.type ?? 'value';
}

/** A value as one line of YAML flow style (`[]`, `0.0.0.0`, `"::"`). */
export function flow(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(flow).join(', ')}]`;
  return stringify(value).trimEnd();
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}
