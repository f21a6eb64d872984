// Where in the YAML file an offset inside a JSONata expression is, so a syntax error points at the character, not just the key.
import type { Position } from '../../schema-kit/yaml-source.ts';

/**
 * The file position of character `offset` of the expression whose YAML value starts at `start`.
 * Exact for `|` block scalars and single-line plain or quoted values; otherwise the start of the value.
 * @example expressionPosition('transform: a + (\n', { line: 1, col: 12 }, 4) // { line: 1, col: 16 }
 */
export function expressionPosition(text: string, start: Position, offset: number | undefined): Position {
  if (offset === undefined || offset < 0) return start;
  const lines = text.split(/\r?\n/);
  const first = lines[start.line - 1] ?? '';
  const indicator = first[start.col - 1];
  if (indicator === '|' || indicator === '>') {
    let content = start.line; // 0-based index of the line after the indicator
    while (content < lines.length && (lines[content] ?? '').trim() === '') content++;
    const indent = /^ */.exec(lines[content] ?? '')![0].length;
    if (indicator === '>') return { line: content + 1, col: indent + 1 };
    // A literal block keeps its line breaks (leading blank lines included), so expression line k is file line start + 1 + k.
    const exprLines = blockValueLines(lines, start.line, indent);
    let rest = offset;
    for (let k = 0; k < exprLines.length; k++) {
      const len = exprLines[k]!.length;
      if (rest <= len) return { line: start.line + 1 + k, col: indent + 1 + rest };
      rest -= len + 1;
    }
    return { line: content + 1, col: indent + 1 };
  }
  const quoted = indicator === '"' || indicator === "'";
  const col = start.col + (quoted ? 1 : 0) + offset;
  // Escapes (`\"`, `''`) make the file text longer than the expression: only map when there are none before the offset.
  const raw = first.slice(start.col - 1 + (quoted ? 1 : 0), col - 1);
  if (col > first.length + 1 || (quoted && (raw.includes('\\') || raw.includes("''")))) return start;
  return { line: start.line, col };
}

function blockValueLines(lines: string[], from: number, indent: number): string[] {
  const out: string[] = [];
  for (let i = from; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() !== '' && /^ */.exec(line)![0].length < indent) break;
    out.push(line.slice(indent));
  }
  return out;
}
