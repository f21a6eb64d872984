// The pipeline test format (`*.test.yaml`): one TypeBox schema, and reading a test file into cases with positioned problems.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import Type, { type Static } from 'typebox';
import { parseYamlSource, type Problem } from '../../schema-kit/yaml-source.ts';
import { checkAgainst, keyPath, type KeyPath } from '../schema-problems.ts';

export const TestCaseSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'What the case shows; printed with its result.' }),
    event: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'The webhook body, inline.' })),
    eventFile: Type.Optional(
      Type.String({ minLength: 1, description: 'A JSON file holding the webhook body, relative to the test file.' }),
    ),
    expect: Type.Record(
      Type.String(),
      Type.Record(Type.String(), Type.Unknown(), {
        description:
          'Per sink id: the expected payload (deep equal). `matched: true` / `matched: false`: whether the pipeline takes the event. `deduplicated: true` / `false`: whether a pipeline with `dedupe` saw its key in an earlier case of this file (then nothing is delivered).',
      }),
      { description: 'Per pipeline name: what it should do with the event. Pipelines not named here are not checked.' },
    ),
  },
  { additionalProperties: false },
);

export const TestFileSchema = Type.Object(
  { tests: Type.Array(TestCaseSchema, { minItems: 1, maxItems: 10_000, description: 'The cases, run in order.' }) },
  { additionalProperties: false, description: 'Pipeline tests: an event in, the expected payload per sink out.' },
);

export type TestCase = Static<typeof TestCaseSchema>;

/** A case ready to run: its event read, and where it is written for messages. */
export interface LoadedCase {
  name: string;
  file: string;
  line: number;
  event?: Record<string, unknown>;
  /** Why the event could not be used (the case fails with this). */
  eventError?: string;
  expect: TestCase['expect'];
}

const MAX_EVENT_BYTES = 1024 * 1024;

/**
 * Read one test file. Problems in its format come back in `problems` (and no cases); an unreadable `eventFile` fails only its case.
 * @example
 * const { cases, problems } = await readTestFile('pipelines/bounces-to-file.test.yaml', 'pipelines/bounces-to-file.test.yaml');
 */
export async function readTestFile(file: string, shown: string): Promise<{ cases: LoadedCase[]; problems: Problem[] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return {
      cases: [],
      problems: [
        {
          file: shown,
          line: 1,
          col: 1,
          message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        },
      ],
    };
  }
  const source = parseYamlSource(text, shown);
  const problems: Problem[] = [...source.errors];
  const at = (path: KeyPath, message: string, o?: { key?: boolean }) =>
    problems.push({
      file: shown,
      ...source.positionOf(path, o),
      message: path.length ? `${keyPath(path)}: ${message}` : message,
    });
  if (problems.length) return { cases: [], problems };
  if (!checkAgainst(TestFileSchema, source.value, [], at)) return { cases: [], problems };
  const doc = source.value as Static<typeof TestFileSchema>;
  doc.tests.forEach((c, i) => {
    if ((c.event === undefined) === (c.eventFile === undefined))
      at(['tests', i], 'give exactly one of `event` and `eventFile`');
  });
  if (problems.length) return { cases: [], problems };

  const cases: LoadedCase[] = [];
  for (const [i, c] of doc.tests.entries()) {
    const base = { name: c.name, file: shown, line: source.positionOf(['tests', i]).line, expect: c.expect };
    const loaded = c.event ? { event: c.event } : await readEvent(resolve(dirname(file), c.eventFile!));
    const event = loaded.event;
    if (event && typeof event.eventName !== 'string')
      cases.push({ ...base, eventError: 'the event has no string `eventName`' });
    else cases.push({ ...base, ...loaded });
  }
  return { cases, problems };
}

async function readEvent(path: string): Promise<{ event?: Record<string, unknown>; eventError?: string }> {
  try {
    const text = await readFile(path, 'utf8');
    if (text.length > MAX_EVENT_BYTES) return { eventError: `${path}: larger than 1mb` };
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      return { eventError: `${path}: not a JSON object` };
    return { event: value as Record<string, unknown> };
  } catch (err) {
    return { eventError: `${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
}
