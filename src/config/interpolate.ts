// `${VAR}`, `${VAR:-default}` and `${file:PATH}` in every string value of a parsed YAML document (config and pipelines).
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';

// `${file:-x}` stays the env form (a variable named `file` with a default).
const PATTERN = /\$\$|\$\{file:(?!-)([^}]*)\}|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** A `${file:PATH}` file holds one secret (a password, a token, a .creds file): anything bigger is a wrong path. */
export const MAX_FILE_REF_BYTES = 64 * 1024;

/** Where `${...}` values come from. */
export interface InterpolateOptions {
  env: NodeJS.ProcessEnv;
  /** Folder a relative `${file:PATH}` resolves against: the config file's folder. */
  baseDir: string;
}

/** A reference that could not be filled; it became ''. The message never holds a value. */
export interface InterpolationProblem {
  /** Key path of the string that held it. */
  path: (string | number)[];
  message: string;
}

/**
 * Replace, in every string of `value` (deeply): `${VAR}` / `${VAR:-default}` by the environment variable,
 * `${file:PATH}` by the file's content without its trailing newline (Docker and Kubernetes mount secrets as files).
 * `$$` is a literal `$`. An unset variable without a default, or a file that cannot be read, is reported in
 * `problems` and becomes ''.
 * @example
 * const problems: InterpolationProblem[] = [];
 * interpolate({ token: '${file:/run/secrets/token}', url: '${URL:-http://localhost}' }, { env: process.env, baseDir: '/etc/hookroute' }, problems);
 */
export function interpolate(
  value: unknown,
  opts: InterpolateOptions,
  problems: InterpolationProblem[] = [],
  path: (string | number)[] = [],
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('$')) return value;
    return value.replace(
      PATTERN,
      (whole, file: string | undefined, name: string | undefined, def: string | undefined) => {
        if (whole === '$$') return '$';
        if (file !== undefined) {
          const read = readFileRef(file, opts.baseDir);
          if ('content' in read) return read.content;
          problems.push({ path, message: read.problem });
          return '';
        }
        const v = opts.env[name!];
        if (v !== undefined && v !== '') return v;
        if (def !== undefined) return def;
        if (v === undefined)
          problems.push({
            path,
            message: `environment variable ${name} is not set (set it, or write \${${name}:-default})`,
          });
        return '';
      },
    );
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, opts, problems, [...path, i]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // defineProperty, not assignment: a `__proto__` key stays a plain key.
      Object.defineProperty(out, k, {
        value: interpolate(v, opts, problems, [...path, k]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

/**
 * The content of a `${file:PATH}` file (UTF-8, one trailing `\n` or `\r\n` removed), or why not.
 * Read synchronously like the config and pipeline files it sits in; opened non-blocking and checked on the open
 * descriptor, so a FIFO or device named by mistake is refused instead of hanging the load.
 */
export function readFileRef(ref: string, baseDir: string): { content: string } | { problem: string } {
  const shown = `\${file:${ref}}`;
  if (ref.trim() === '') return { problem: `${shown}: no file named` };
  const file = resolve(baseDir, ref);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'unreadable');
    return { problem: `${shown}: cannot read ${file}: ${why}` };
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) return { problem: `${shown}: ${file} is not a regular file` };
    if (info.size > MAX_FILE_REF_BYTES)
      return { problem: `${shown}: ${file} is ${info.size} bytes; a referenced file may be at most 64kb` };
    // Read one byte past the limit: the file may have grown since fstat.
    const buf = Buffer.alloc(MAX_FILE_REF_BYTES + 1);
    let length = 0;
    for (let n; length < buf.length && (n = readSync(fd, buf, length, buf.length - length, null)) > 0;) length += n;
    if (length > MAX_FILE_REF_BYTES)
      return { problem: `${shown}: ${file} is over 64kb; a referenced file may be at most 64kb` };
    return { content: buf.toString('utf8', 0, length).replace(/\r?\n$/, '') };
  } catch (err) {
    return { problem: `${shown}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'read error'}` };
  } finally {
    closeSync(fd);
  }
}
