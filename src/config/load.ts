// Finds, reads, interpolates, validates and normalises the config file into the `Config` the daemon runs with.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Value } from 'typebox/value';
import { checkConfig, keyPath, schemaAt } from './check.ts';
import { interpolate, type InterpolationProblem } from './interpolate.ts';
import { ConfigSchema, type Config, type ConfigInput, type JwtConfig } from './schema.ts';
import { parseDuration, parseSize } from '../schema-kit/units.ts';
import { formatProblem, parseYamlSource, type Problem } from '../schema-kit/yaml-source.ts';

/** The config file name looked for in the working folder when no `-c FILE` is given. */
export const DEFAULT_CONFIG_FILE = 'config.yaml';
// A config file is written by hand; anything bigger is a mistake (or an attack on the parser).
const MAX_CONFIG_BYTES = 1024 * 1024;

/** The config could not be loaded; `problems` are printable with `formatProblem` (`file:line:col: message`). */
export class ConfigError extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** Config file (`-c FILE`); must exist when given. */
  file?: string;
  /** Folder to look for `config.yaml` in and to resolve `file` against; default `process.cwd()`. */
  cwd?: string;
  /** Environment for `${VAR}`; default `process.env`. (`${file:PATH}` resolves against the config file's folder.) */
  env?: NodeJS.ProcessEnv;
}

/**
 * Load the config: `file` if given (must exist), else `./config.yaml` in cwd if it exists, else built-in defaults.
 * Throws `ConfigError` listing every problem with its file, line and key path.
 *
 * @example
 * try {
 *   const config = await loadConfig({ file: opts.config });
 *   console.log(config.server.port, config.storage.dir); // 8080, /abs/path/data
 * } catch (err) {
 *   if (err instanceof ConfigError) for (const p of err.problems) console.error(formatProblem(p));
 * }
 */
export async function loadConfig(opts: LoadConfigOptions = {}): Promise<Config> {
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const env = opts.env ?? process.env;
  const file =
    opts.file !== undefined ? path.resolve(cwd, opts.file) : await existing(path.join(cwd, DEFAULT_CONFIG_FILE));
  if (file === undefined) return parseConfigText('', { file: undefined, cwd, env });
  const shown = displayName(file, cwd);
  const text = await readConfigFile(file, shown);
  return parseConfigText(text, { file, cwd, env });
}

/**
 * Load config from YAML text already in memory (`file` names it in problems and anchors relative paths;
 * undefined means built-in defaults, anchored at `cwd`).
 *
 * @example
 * const config = parseConfigText('server: { port: 0 }', { file: '/etc/hookroute/config.yaml', cwd: '/', env: {} });
 */
export function parseConfigText(
  text: string,
  opts: { file: string | undefined; cwd: string; env: NodeJS.ProcessEnv },
): Config {
  const shown = opts.file === undefined ? '(defaults)' : displayName(opts.file, opts.cwd);
  const source = parseYamlSource(text, shown);
  if (source.errors.length > 0) throw new ConfigError(source.errors);
  const baseDir = opts.file === undefined ? opts.cwd : path.dirname(opts.file);
  const missing: InterpolationProblem[] = [];
  const interpolated = coerceInterpolated(
    source.value,
    interpolate(source.value, { env: opts.env, baseDir }, missing),
    [],
  );
  const problems: Problem[] = missing.map((m) => ({
    file: shown,
    ...source.positionOf(m.path),
    message: `${keyPath(m.path)}: ${m.message}`,
  }));
  const input = withDefaults(interpolated);
  // An unset variable or unreadable file already explains why its key is empty; a second "must be ..." is noise.
  const unset = new Set(missing.map((m) => `${keyPath(m.path)}:`));
  problems.push(
    ...checkConfig(interpolated, input, source).filter(
      (p) => ![...unset].some((prefix) => p.message.startsWith(prefix)),
    ),
  );
  if (problems.length > 0) throw new ConfigError(problems.sort((a, b) => a.line - b.line || a.col - b.col));
  return normalise(input as ConfigInput, opts.file, baseDir);
}

/** Defaults filled in on a clone; an empty section (`server:` with nothing under it) counts as an empty mapping. */
function withDefaults(value: unknown): unknown {
  if (value === undefined || value === null) return Value.Default(ConfigSchema, {});
  if (typeof value !== 'object' || Array.isArray(value)) return value;
  const clone = structuredClone(value) as Record<string, unknown>;
  for (const key of Object.keys(ConfigSchema.properties)) if (clone[key] === null) clone[key] = {};
  return Value.Default(ConfigSchema, clone);
}

/**
 * `port: ${PORT}` interpolates to the string "8080"; where the schema wants a number or boolean (and no string),
 * a string that came from `${VAR}` is converted, so env vars work for every key. Literal strings are left alone.
 */
function coerceInterpolated(raw: unknown, value: unknown, at: (string | number)[]): unknown {
  if (typeof raw === 'string' && typeof value === 'string' && raw.includes('${'))
    return coerceScalar(value, schemaAt(at));
  if (Array.isArray(raw) && Array.isArray(value)) return value.map((v, i) => coerceInterpolated(raw[i], v, [...at, i]));
  if (raw && value && typeof raw === 'object' && typeof value === 'object') {
    const rawRecord = raw as Record<string, unknown>;
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = coerceInterpolated(rawRecord[key], record[key], [...at, key]);
  }
  return value;
}

function coerceScalar(value: string, schema: Record<string, unknown> | undefined): unknown {
  const types = new Set([
    schema?.type,
    ...((schema?.anyOf as { type?: unknown }[] | undefined) ?? []).map((b) => b.type),
  ]);
  if (types.has('string')) return value;
  if ((types.has('integer') || types.has('number')) && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  if (types.has('boolean') && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

function normalise(c: ConfigInput, file: string | undefined, baseDir: string): Config {
  const dir = (p: string) => path.resolve(baseDir, p);
  const { oauth2 } = c.auth;
  return {
    file,
    baseDir,
    server: {
      ...c.server,
      maxBodyBytes: parseSize(c.server.maxBodyBytes),
      maxHeaderBytes: parseSize(c.server.maxHeaderBytes),
      ...(c.server.tls ? { tls: { cert: dir(c.server.tls.cert), key: dir(c.server.tls.key) } } : {}),
    },
    auth: {
      mode: c.auth.mode,
      ...(c.auth.basic ? { basic: c.auth.basic } : {}),
      ...(c.auth.token ? { token: c.auth.token } : {}),
      ...(oauth2
        ? {
            oauth2: {
              clients: oauth2.clients ?? [],
              tokenTtlMs: parseDuration(oauth2.tokenTtl),
              ...(oauth2.signingKey !== undefined ? { signingKey: oauth2.signingKey } : {}),
              ...(oauth2.jwt ? { jwt: normaliseJwt(oauth2.jwt, dir) } : {}),
            },
          }
        : {}),
      allowIps: c.auth.allowIps,
    },
    validation: c.validation,
    pipelines: {
      dir: dir(c.pipelines.dir),
      watch: c.pipelines.watch,
      debounceMs: parseDuration(c.pipelines.debounce),
      evalTimeoutMs: parseDuration(c.pipelines.evalTimeout),
    },
    plugins: { dir: dir(c.plugins.dir) },
    storage: {
      dir: dir(c.storage.dir),
      fsync: c.storage.fsync,
      maxDiskBytes: parseSize(c.storage.maxDiskBytes),
      segmentBytes: parseSize(c.storage.segmentBytes),
    },
    admin: c.admin,
    log: c.log,
    shutdown: { graceMs: parseDuration(c.shutdown.grace) },
  };
}

function normaliseJwt(jwt: JwtInput, dir: (p: string) => string): JwtConfig {
  return {
    ...(jwt.jwksUrl !== undefined ? { jwksUrl: jwt.jwksUrl } : {}),
    ...(jwt.jwksFile !== undefined ? { jwksFile: dir(jwt.jwksFile) } : {}),
    issuer: jwt.issuer,
    audience: typeof jwt.audience === 'string' ? [jwt.audience] : jwt.audience,
    algorithms: jwt.algorithms,
    clockToleranceMs: parseDuration(jwt.clockTolerance),
  };
}

type JwtInput = NonNullable<NonNullable<ConfigInput['auth']['oauth2']>['jwt']>;

async function existing(file: string): Promise<string | undefined> {
  try {
    return (await stat(file)).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

async function readConfigFile(file: string, shown: string): Promise<string> {
  const fail = (message: string): never => {
    throw new ConfigError([{ file: shown, line: 1, col: 1, message }]);
  };
  try {
    const info = await stat(file);
    if (!info.isFile()) fail('config file is not a regular file');
    if (info.size > MAX_CONFIG_BYTES) fail(`config file is larger than ${MAX_CONFIG_BYTES} bytes`);
    return await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    return fail(
      code === 'ENOENT' ? 'config file not found' : `cannot read config file (${code ?? (err as Error).message})`,
    );
  }
}

/** Paths inside the working folder print relative (`config.yaml`), others absolute. */
function displayName(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}
