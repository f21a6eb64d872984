// Refuses JSONata regexes that can backtrack catastrophically: a regex runs natively and synchronously, so no time box
// can stop `/^(a+)+$/` on a hostile event value — it would stall the whole daemon, ingress included.
import jsonata from 'jsonata';
import safeRegex from 'safe-regex2';

export interface UnsafeRegex {
  /** Character offset of the regex in the expression (as JSONata reports positions). */
  position: number;
  source: string;
}

/**
 * Every regex literal in `expression` whose star height is above 1 (a quantified group inside another quantifier),
 * the shape behind exponential backtracking. Syntax errors are not this function's business: it returns [] for them.
 * @example unsafeRegexes('$contains(email, /^(a+)+$/)') // [{ position: 26, source: '^(a+)+$' }]
 */
export function unsafeRegexes(expression: string): UnsafeRegex[] {
  let ast: unknown;
  try {
    ast = jsonata(expression).ast();
  } catch {
    return [];
  }
  const found: UnsafeRegex[] = [];
  const seen = new Set<unknown>();
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    const n = node as { type?: unknown; value?: unknown; position?: unknown };
    if (n.type === 'regex' && n.value instanceof RegExp && !safeRegex(n.value)) {
      found.push({ position: typeof n.position === 'number' ? n.position : 0, source: n.value.source });
    }
    for (const child of Object.values(node)) walk(child);
  };
  walk(ast);
  return found;
}
