// `${VAR}` and `${VAR:-default}` in every string value of a parsed YAML document (config and pipelines alike).

const PATTERN = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface MissingVar {
  /** Key path of the string that referenced it. */
  path: (string | number)[];
  name: string;
}

/**
 * Replace `${VAR}` / `${VAR:-default}` in every string of `value` (deeply), reading `env`.
 * `$$` is a literal `$`. A variable that is unset and has no default is reported in `missing` and becomes ''.
 */
export function interpolateEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  missing: MissingVar[] = [],
  path: (string | number)[] = [],
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('$')) return value;
    return value.replace(PATTERN, (whole, name: string | undefined, def: string | undefined) => {
      if (whole === '$$') return '$';
      const v = env[name!];
      if (v !== undefined && v !== '') return v;
      if (def !== undefined) return def;
      if (v === undefined) missing.push({ path, name: name! });
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, missing, [...path, i]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // defineProperty, not assignment: a `__proto__` key stays a plain key.
      Object.defineProperty(out, k, {
        value: interpolateEnv(v, env, missing, [...path, k]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}
