// The JSON text of a payload, computed once per payload object: when several sinks get the same object (an untransformed
// event fanned out to many sinks, or one pipeline transform shared by its sinks) it is serialised once, not once per sink.
const texts = new WeakMap<object, string>();

/**
 * `JSON.stringify(payload ?? null)`, cached per object (payloads are not changed after they are built). Throws what
 * JSON.stringify throws (a cycle, a BigInt), uncached.
 * @example
 * payloadJson({ a: 1 }) // '{"a":1}'
 */
export function payloadJson(payload: unknown): string {
  if (typeof payload !== 'object' || payload === null) return JSON.stringify(payload ?? null);
  let text = texts.get(payload);
  if (text === undefined) {
    text = JSON.stringify(payload);
    texts.set(payload, text);
  }
  return text;
}
