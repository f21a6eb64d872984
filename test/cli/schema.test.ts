// `hookroute schema`: JSON Schema per eventName that validates the shipped samples; AsyncAPI whose messages round-trip with the spec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { parse } from 'yaml';
import { Compile } from 'typebox/compile';
import { runSchema } from '../../src/cli/schema.ts';
import { KNOWN_EVENT_NAMES, SPEC_EVENT_NAMES } from '../../src/events/catalog.ts';
import { sampleEvent, invalidSampleEvent } from '../../src/events/samples.ts';

type Json = Record<string, any>;

async function run(format?: string): Promise<{ code: number; text: string }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  const code = await runSchema(format === undefined ? {} : { format }, out);
  out.end();
  return { code, text: Buffer.concat(chunks).toString('utf8') };
}

const fixtures = readFileSync(new URL('../fixtures/iterable-samples.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as Json);

test('json (the default) maps every catalog eventName, and * for others, to a JSON Schema', async () => {
  const { code, text } = await run();
  assert.equal(code, 0);
  const doc = JSON.parse(text) as Json;
  assert.deepEqual(Object.keys(doc), [...KNOWN_EVENT_NAMES, '*']);
  assert.equal(doc.emailSend.properties.dataFields.properties.campaignId.type[0], 'integer');
  assert.deepEqual(await run('json'), { code, text });
});

test('the printed JSON Schemas accept the shipped samples and reject the invalid ones', async () => {
  const doc = JSON.parse((await run('json')).text) as Json;
  const validators = new Map(Object.entries(doc).map(([name, schema]) => [name, Compile(schema as never)]));
  const check = (body: Json) => (validators.get(body.eventName) ?? validators.get('*')!).Check(body);
  for (const body of fixtures) assert.ok(check(body), body.eventName);
  for (const name of [...KNOWN_EVENT_NAMES, 'notInTheCatalog']) assert.ok(check(sampleEvent(name, 1)), name);
  for (const name of SPEC_EVENT_NAMES) assert.equal(check(invalidSampleEvent(name, 1)), false, name);
});

test('asyncapi: an AsyncAPI 2.6 document whose message names round-trip with the spec, plus the generic message', async () => {
  const { code, text } = await run('asyncapi');
  assert.equal(code, 0);
  assert.doesNotMatch(text, /^\s*[^#\n]*[&*][a-z]\d+\s*$/m, 'no YAML anchors or aliases');
  const doc = parse(text) as Json;
  const spec = parse(
    readFileSync(new URL('../../spec/iterable-system-webhooks.asyncapi.yaml', import.meta.url), 'utf8'),
  ) as Json;
  assert.equal(doc.asyncapi, '2.6.0');
  const names = (api: Json) => Object.values(api.components.messages).map((m: any) => m.name as string);
  assert.deepEqual(names(doc), [...names(spec), 'other']);
  for (const [key, message] of Object.entries(spec.components.messages) as [string, Json][]) {
    assert.equal(doc.components.messages[key].name, message.name, key);
    assert.equal(doc.components.messages[key].title, message.title, key);
  }
  // Every $ref in the channel and the messages resolves inside the document.
  const refs = [...text.matchAll(/\$ref: "#\/([^"]+)"/g)].map((m) => m[1]!);
  assert.equal(refs.length, 42);
  for (const ref of refs)
    assert.ok(
      ref.split('/').reduce((at: Json, k) => at?.[k], doc),
      ref,
    );
  const payload = doc.components.schemas.EmailClickPayload;
  assert.ok(Compile(payload).Check(fixtures.find((f) => f.eventName === 'emailClick')));
});

test('an unknown format is a usage error (exit 2) and prints nothing to out', async () => {
  const original = process.stderr.write;
  let stderr = '';
  process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
  try {
    assert.deepEqual(await run('xml'), { code: 2, text: '' });
  } finally {
    process.stderr.write = original;
  }
  assert.match(stderr, /unknown --format "xml"/);
});
