// Turns a config value (after env interpolation and defaults) into positioned problems: unknown keys, schema errors, semantic rules.
import { parseDuration, parseSize } from '../schema-kit/units.ts';
import { BlockList, isIP } from 'node:net';
import { Compile } from 'typebox/compile';
import { ConfigSchema } from './schema.ts';
import {
  DURATION_HINT,
  SIZE_HINT,
  describeUnion,
  keyPath,
  reportSchemaErrors,
  subschemaAt,
  type JsonSchema,
  type KeyPath,
} from '../schema-kit/schema-errors.ts';
import type { Problem, YamlSource } from '../schema-kit/yaml-source.ts';

// Re-exported: `load.ts` words its own messages with it.
export { keyPath };

const ROOT = ConfigSchema as unknown as JsonSchema;
// One validator per top-level section: TypeBox stops at `maxErrors` (8) per run, and a section each keeps every section's errors visible.
const SECTION_VALIDATORS = Object.entries(ConfigSchema.properties).map(
  ([key, schema]) => [key, Compile(schema)] as const,
);
// Config unions that get a plainer message than TypeBox's "must match pattern".
const UNION_HINTS = [SIZE_HINT, DURATION_HINT];

/**
 * Every problem in a config; empty when it is valid. `written` is the config as written (after `${VAR}`), `value` the same
 * with defaults filled in. Unknown keys are looked for in `written`: filling defaults may drop or act on a `__proto__` key.
 */
export function checkConfig(written: unknown, value: unknown, source: YamlSource): Problem[] {
  const problems: Problem[] = [];
  const add = (path: KeyPath, message: string, opts?: { key?: boolean }) => {
    problems.push({ file: source.file, ...source.positionOf(path, opts), message: `${keyPath(path)}: ${message}` });
  };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push({
      file: source.file,
      line: 1,
      col: 1,
      message: 'the config must be a mapping of keys (e.g. `server:`)',
    });
    return problems;
  }
  findUnknownKeys(written, ROOT, [], add);
  const record = value as Record<string, unknown>;
  const valid = new Set<string>();
  for (const [key, validator] of SECTION_VALIDATORS) {
    const section = record[key];
    if (validator.Check(section)) valid.add(key);
    else
      reportSchemaErrors(validator.Errors(section), [key], add, (path, error) =>
        describeUnion(schemaAt(path), error.message, UNION_HINTS),
      );
  }
  semanticChecks(record, valid, add);
  return problems.sort((a, b) => a.line - b.line || a.col - b.col);
}

function findUnknownKeys(
  value: unknown,
  schema: JsonSchema | undefined,
  path: KeyPath,
  add: (p: KeyPath, m: string, o?: { key?: boolean }) => void,
): void {
  if (!schema || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((item, i) => findUnknownKeys(item, schema.items, [...path, i], add));
    return;
  }
  if (!schema.properties) return;
  const known = Object.keys(schema.properties);
  for (const [key, child] of Object.entries(value)) {
    const childSchema = Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
    if (childSchema) {
      findUnknownKeys(child, childSchema, [...path, key], add);
    } else if (schema.additionalProperties === false) {
      const guess = closest(key, known);
      add([...path, key], `unknown key${guess ? ` (did you mean "${guess}"?)` : ''}`, { key: true });
    }
  }
}

/** The nearest known key (a typo, a swapped pair of letters, a different case or a cut-off prefix), for "did you mean". */
function closest(key: string, known: string[]): string | undefined {
  const lower = key.toLowerCase();
  const limit = key.length >= 5 ? 2 : 1;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const c = candidate.toLowerCase();
    const d = c === lower ? 0 : key.length >= 3 && c.startsWith(lower) ? 1 : editDistance(lower, c);
    if (d <= limit && d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps cost 1. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The config schema node that describes the value at `path` (undefined if the path leaves the schema). */
export function schemaAt(path: readonly (string | number)[]): JsonSchema | undefined {
  return subschemaAt(ROOT, path);
}

type Section = Record<string, unknown>;

/** Rules the schema cannot say; each runs only on a section that passed the schema, so its types are known. */
function semanticChecks(
  config: Record<string, unknown>,
  valid: Set<string>,
  add: (p: KeyPath, m: string) => void,
): void {
  if (valid.has('auth')) {
    const auth = config.auth as Section;
    const mode = auth.mode as string;
    if (mode !== 'none' && auth[mode] === undefined)
      add(['auth', 'mode'], `"${mode}" needs an \`auth.${mode}\` section`);
    checkAddresses(auth.allowIps as string[], ['auth', 'allowIps'], add);
    if (auth.oauth2 !== undefined) checkOAuth2(auth.oauth2 as Section, add);
  }
  if (valid.has('server')) {
    const server = config.server as Section;
    checkAddresses(server.trustProxy as string[], ['server', 'trustProxy'], add);
    if (server.path === '/oauth/token')
      add(['server', 'path'], '"/oauth/token" is reserved for the OAuth 2.0 token endpoint');
    if (parseSize(server.maxBodyBytes as string | number) < 64)
      add(['server', 'maxBodyBytes'], 'must be at least 64 bytes (an Iterable event is larger)');
  }
  if (valid.has('storage')) {
    const storage = config.storage as Section;
    // 0 would refuse every event forever (503), which nobody means; there is no "unlimited": the disk has a size.
    if (parseSize(storage.maxDiskBytes as string | number) < MIN_DISK_BYTES)
      add(['storage', 'maxDiskBytes'], 'must be at least 1mb');
    if (parseSize(storage.segmentBytes as string | number) < 4096)
      add(['storage', 'segmentBytes'], 'must be at least 4kb');
  }
  if (valid.has('pipelines')) {
    // A zero time box would let a runaway expression stall the daemon.
    if (parseDuration((config.pipelines as Section).evalTimeout as string | number) < 1)
      add(['pipelines', 'evalTimeout'], 'must be at least 1ms');
  }
}

const MIN_DISK_BYTES = 1024 * 1024;

function checkAddresses(list: string[], path: KeyPath, add: (p: KeyPath, m: string) => void): void {
  list.forEach((entry, i) => {
    if (!isAddressOrCidr(entry))
      add([...path, i], `"${entry}" is not an IP address or CIDR (e.g. 10.0.0.0/8, 2001:db8::/32)`);
  });
}

/** True for `10.1.2.3`, `10.0.0.0/8`, `::1`, `2001:db8::/32`. */
export function isAddressOrCidr(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.trim().split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  try {
    new BlockList().addSubnet(address, Number(prefix), family === 4 ? 'ipv4' : 'ipv6');
    return true;
  } catch {
    return false;
  }
}

function checkOAuth2(oauth2: Section, add: (p: KeyPath, m: string) => void): void {
  const at: KeyPath = ['auth', 'oauth2'];
  if (oauth2.clients === undefined && oauth2.jwt === undefined)
    add(at, 'needs `clients` (the built-in token endpoint), `jwt` (your own authorization server), or both');
  const jwt = oauth2.jwt as Section | undefined;
  if (jwt === undefined) return;
  if ((jwt.jwksUrl === undefined) === (jwt.jwksFile === undefined))
    add([...at, 'jwt'], 'needs exactly one of `jwksUrl` and `jwksFile`');
  if (typeof jwt.jwksUrl === 'string') {
    const problem = jwksUrlProblem(jwt.jwksUrl);
    if (problem) add([...at, 'jwt', 'jwksUrl'], problem);
  }
}

/**
 * Why a JWKS URL is refused, or undefined. Keys fetched over plain HTTP could be swapped on the way, which would let anyone
 * sign tokens: `http://` is allowed only to a loopback address (a sidecar, or tests). Private addresses are fine: it is the
 * user's own server.
 */
export function jwksUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not a URL`;
  }
  if (url.username || url.password) return 'must not carry credentials';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && isLoopback(url.hostname)) return undefined;
  return 'must be an https:// URL (http:// only to a loopback address such as 127.0.0.1)';
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return isIP(host) === 6 && LOOPBACK_V6.check(host, 'ipv6');
}

const LOOPBACK_V6 = new BlockList();
LOOPBACK_V6.addAddress('::1', 'ipv6');
