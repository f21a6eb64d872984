// `match.events` of every pipeline compiled into one lookup: eventName → candidate pipelines, without scanning them all.

/** Letters, digits, `_ . : -` and the wildcards `*` (any run) and `?` (one character). */
const GLOB_CHARS = /^[A-Za-z0-9_.:*?-]{1,128}$/;
const MAX_CACHED_NAME = 128;

/** Why `pattern` is not a usable event name or glob, or undefined when it is. */
export function globProblem(pattern: string): string | undefined {
  if (!GLOB_CHARS.test(pattern)) {
    return `"${pattern.slice(0, 80)}" is not an event name or glob (letters, digits, "_", ".", ":", "-" and the wildcards "*" and "?")`;
  }
  return undefined;
}

export const isGlob = (pattern: string): boolean => pattern.includes('*') || pattern.includes('?');

/** A glob as an anchored RegExp; every character but the wildcards is literal. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\*?-]/g, (c) => (c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`));
  return new RegExp(`^${body}$`);
}

/** One thing to match: `events` omitted means every event. */
export interface MatchEntry<T> {
  value: T;
  events?: readonly string[];
}

/**
 * Finds, for one eventName, the entries whose `events` list names it or a glob that matches it, in entry order.
 * Exact names are a Map lookup; globs run once per distinct eventName and the answer is cached (the cache is bounded,
 * because eventName comes from the sender).
 * @example
 * const m = new EventMatcher([{ value: 'bounces', events: ['emailBounce', 'sms*'] }, { value: 'all' }]);
 * m.candidates('smsBounce'); // ['bounces', 'all']
 */
export class EventMatcher<T> {
  private readonly exact = new Map<string, number[]>();
  private readonly globs: { re: RegExp; index: number }[] = [];
  private readonly everything: number[] = [];
  private readonly values: T[];
  private readonly cache = new Map<string, readonly T[]>();
  private readonly cacheSize: number;

  constructor(entries: readonly MatchEntry<T>[], opts: { cacheSize?: number } = {}) {
    this.cacheSize = opts.cacheSize ?? 10_000;
    this.values = entries.map((e) => e.value);
    entries.forEach((entry, index) => {
      if (!entry.events) {
        this.everything.push(index);
        return;
      }
      for (const pattern of new Set(entry.events)) {
        if (isGlob(pattern)) {
          this.globs.push({ re: globToRegExp(pattern), index });
        } else {
          const list = this.exact.get(pattern) ?? [];
          list.push(index);
          this.exact.set(pattern, list);
        }
      }
    });
  }

  /** Entries interested in `eventName`, in the order they were given. */
  candidates(eventName: string): readonly T[] {
    const hit = this.cache.get(eventName);
    if (hit) return hit;
    const indexes = new Set<number>([...(this.exact.get(eventName) ?? []), ...this.everything]);
    for (const glob of this.globs) if (!indexes.has(glob.index) && glob.re.test(eventName)) indexes.add(glob.index);
    const result = Object.freeze([...indexes].sort((a, b) => a - b).map((i) => this.values[i]!));
    // A long name is not a real eventName: answer it, but do not let it take cache memory.
    if (eventName.length > MAX_CACHED_NAME) return result;
    // Oldest entry out first: a Map iterates in insertion order.
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(eventName, result);
    return result;
  }

  /** Names currently cached (for tests and metrics). */
  get cachedNames(): number {
    return this.cache.size;
  }
}
