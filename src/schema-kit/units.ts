// Size (`512kb`, `10gb`) and duration (`250ms`, `5m`) strings as the config and pipeline files write them: schema and parser.
import Type from 'typebox';

/** `512kb`, `1 MB`, `10GiB`: units in any letter case (JSON Schema patterns have no case-insensitive flag). */
export const SIZE_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*([bB]|[kKmMgGtT][iI]?[bB])?\\s*$';

/** A byte size: `512kb`, `1mb`, `10gb` or a plain number of bytes. */
export const Size = (def: string | undefined, description: string, minimum = 0) =>
  Type.Union([Type.String({ pattern: SIZE_PATTERN }), Type.Integer({ minimum })], {
    ...(def === undefined ? {} : { default: def, examples: [def] }),
    description,
  });

/** A duration: `250ms`, `5s`, `5m`, `2h` or a plain number of milliseconds. */
export const Duration = (def: string | undefined, description: string) =>
  Type.Union([Type.String({ pattern: '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)?\\s*$' }), Type.Integer({ minimum: 0 })], {
    ...(def === undefined ? {} : { default: def }),
    description,
  });

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Bytes in a size such as `1mb` (binary multiples) or a plain number. Throws on anything else. */
export function parseSize(value: string | number): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.floor(value);
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(String(value));
  const unit = (m?.[2] || 'b').toLowerCase();
  const mult = SIZE_UNITS[unit];
  if (!m || mult === undefined) throw new Error(`"${value}" is not a size (use e.g. 512kb, 1mb, 10gb)`);
  return Math.floor(Number(m[1]) * mult);
}

/** Milliseconds in a duration such as `250ms`, `5s`, `2h` or a plain number of milliseconds. Throws on anything else. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.floor(value);
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(String(value));
  const unit = (m?.[2] || 'ms').toLowerCase();
  const mult = DURATION_UNITS[unit];
  if (!m || mult === undefined) throw new Error(`"${value}" is not a duration (use e.g. 250ms, 5s, 5m, 2h)`);
  return Math.floor(Number(m[1]) * mult);
}

/** A rate such as `1/s`, `100/m` or `5/10s` as a count per interval. */
export function parseRate(value: string): { count: number; intervalMs: number } {
  const m = /^\s*(\d+)\s*\/\s*(\d+)?\s*(ms|s|m|h)\s*$/.exec(value);
  if (!m || Number(m[1]) < 1) throw new Error(`"${value}" is not a rate (use e.g. 1/s, 100/m, 5/10s)`);
  return { count: Number(m[1]), intervalMs: Number(m[2] ?? 1) * (DURATION_UNITS[m[3]!] ?? 1) };
}
