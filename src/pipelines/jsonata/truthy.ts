// JSONata's effective boolean value, shared by `when` predicates (router.ts) and the fast path's operators (fast-path.ts).

/** JSONata truthiness (`$boolean`, with undefined as false): what makes a `when` predicate match. */
export function truthy(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') return value.length > 0;
  if (Array.isArray(value)) return value.some(truthy);
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return false;
}
