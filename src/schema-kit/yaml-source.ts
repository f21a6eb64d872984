// A parsed YAML file that still knows where each value came from, so every error can say `file:line:col`.
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node } from 'yaml';

export interface Position {
  line: number;
  col: number;
}

/** A problem found in a file, printed as `file:line:col: message`. */
export interface Problem {
  file: string;
  line: number;
  col: number;
  message: string;
}

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.message}`;
}

export interface YamlSource {
  file: string;
  /** The plain JS value of the document (undefined for an empty file). */
  value: unknown;
  /** YAML syntax errors, with positions. */
  errors: Problem[];
  /**
   * Position of the value at `path` (keys and array indexes); falls back to the nearest ancestor that exists.
   * With `key: true`, the position of the map key rather than its value.
   */
  positionOf(path: readonly (string | number)[], opts?: { key?: boolean }): Position;
}

/** Parse YAML text. Never throws: syntax errors come back in `errors`. */
export function parseYamlSource(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined): Position => {
    const p = lineCounter.linePos(offset ?? 0);
    return { line: p.line, col: p.col };
  };
  const errors: Problem[] = doc.errors.map((e) => ({
    file,
    ...at(e.pos[0]),
    message: e.message.split('\n')[0] ?? e.message,
  }));
  let value: unknown;
  if (errors.length === 0) {
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      errors.push({ file, line: 1, col: 1, message: (err as Error).message });
    }
  }
  const positionOf = (path: readonly (string | number)[], opts: { key?: boolean } = {}): Position => {
    let node: unknown = doc.contents;
    let best: Position = at((doc.contents as Node | null)?.range?.[0] ?? 0);
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      if (isMap(node)) {
        const pair = node.items.find(
          (it) => (isScalar(it.key) ? String(it.key.value) : String(it.key)) === String(seg),
        );
        if (!pair) return best;
        const last = i === path.length - 1;
        if (last && opts.key && isScalar(pair.key)) return at(pair.key.range?.[0]);
        node = pair.value;
        const range = (pair.value as Node | null)?.range ?? (isScalar(pair.key) ? pair.key.range : undefined);
        if (range) best = at(range[0]);
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg] as Node | undefined;
        if (!item) return best;
        node = item;
        if (item.range) best = at(item.range[0]);
      } else {
        return best;
      }
    }
    return best;
  };
  return { file, value, errors, positionOf };
}
