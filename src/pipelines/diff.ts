// Where two JSON values differ, as key paths, for `hookroute test` mismatch reports.
import { isDeepStrictEqual } from 'node:util';

/**
 * Key paths (`$.text`, `$.items[2]`) at which `actual` differs from `expected`; empty when they are deep-equal.
 * @example differences({ a: 1, b: [1, 2] }, { a: 2, b: [1] }) // ['$.a', '$.b[1]']
 */
export function differences(expected: unknown, actual: unknown, path = '$', out: string[] = [], limit = 50): string[] {
  if (out.length >= limit || isDeepStrictEqual(expected, actual)) return out;
  if (Array.isArray(expected) && Array.isArray(actual)) {
    for (let i = 0; i < Math.max(expected.length, actual.length); i++)
      differences(expected[i], actual[i], `${path}[${i}]`, out, limit);
    return out;
  }
  if (isRecord(expected) && isRecord(actual)) {
    for (const key of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
      const seg = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
      differences(expected[key], actual[key], `${path}${seg}`, out, limit);
    }
    return out;
  }
  out.push(path);
  return out;
}

/** A value as indented JSON, every line prefixed with `indent` (undefined reads as `(no value)`). */
export function indentJson(value: unknown, indent: string): string {
  const text = value === undefined ? '(no value)' : JSON.stringify(value, null, 2);
  return text
    .split('\n')
    .map((l) => indent + l)
    .join('\n');
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
