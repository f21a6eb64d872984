// Drift test: every property of every spec message payload exists in our schema with the same JSON type, in both placements.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { SPEC_EVENT_NAMES } from '../../src/events/catalog.ts';
import { EVENT_SCHEMAS, MESSAGES } from '../../src/events/schemas.ts';

type Json = Record<string, any>;
const spec: Json = parse(
  readFileSync(new URL('../../spec/iterable-system-webhooks.asyncapi.yaml', import.meta.url), 'utf8'),
);

function deref(node: Json): Json {
  if (typeof node.$ref !== 'string') return node;
  const target = node.$ref
    .replace(/^#\//, '')
    .split('/')
    .reduce((at: Json, key: string) => at[key], spec);
  assert.ok(target, `unresolved ${node.$ref}`);
  return deref(target);
}

/** The payload's properties with every `allOf` and `$ref` resolved (later parts win, as in the spec). */
function specProperties(schema: Json): Record<string, Json> {
  const resolved = deref(schema);
  const props: Record<string, Json> = {};
  for (const part of resolved.allOf ?? []) Object.assign(props, specProperties(part));
  for (const [key, value] of Object.entries(resolved.properties ?? {})) props[key] = deref(value as Json);
  return props;
}

const typesOf = (schema: Json): string[] => (Array.isArray(schema.type) ? schema.type : [schema.type]);

/** Problems found comparing one spec property (recursing into object properties and array items) with ours. */
function compare(path: string, specProp: Json, ours: Json | undefined, problems: string[]): void {
  if (!ours) return void problems.push(`${path}: missing from our schema`);
  if (!typesOf(ours).includes(specProp.type))
    problems.push(`${path}: spec type ${specProp.type}, ours ${JSON.stringify(ours.type)}`);
  if (specProp.properties) {
    for (const [key, child] of Object.entries(specProperties(specProp)))
      compare(`${path}.${key}`, child, ours.properties?.[key], problems);
  }
  if (specProp.items) compare(`${path}[]`, deref(specProp.items), ours.items, problems);
}

function driftProblems(name: string, payload: Json, ours: Json): string[] {
  const problems: string[] = [];
  for (const [key, prop] of Object.entries(specProperties(payload))) {
    compare(`${name}.${key}`, prop, ours.properties?.[key], problems);
    // Real deliveries nest event fields in dataFields: each one must be typed there too.
    if (key !== 'dataFields' && key !== 'eventName')
      compare(`${name}.dataFields.${key}`, prop, ours.properties?.dataFields?.properties?.[key], problems);
  }
  return problems;
}

const specMessages = Object.values(spec.components.messages) as Json[];

test('the spec has the 20 message types of the catalog, in order', () => {
  const channelNames = spec.channels['/webhook'].publish.message.oneOf.map((m: Json) => deref(m).name);
  assert.deepEqual(channelNames, [...SPEC_EVENT_NAMES]);
  assert.deepEqual(specMessages.map((m) => m.name).sort(), [...SPEC_EVENT_NAMES].sort());
});

test('every spec message has a schema, with its title, summary and description', () => {
  for (const message of specMessages) {
    const name = message.name as (typeof SPEC_EVENT_NAMES)[number];
    assert.ok(EVENT_SCHEMAS[name], `no schema for ${name}`);
    assert.equal(MESSAGES[name].title, message.title, name);
    assert.equal(MESSAGES[name].summary, message.summary, name);
    assert.equal(MESSAGES[name].description, deref(message.payload).description, name);
    assert.equal((EVENT_SCHEMAS[name] as Json).description, deref(message.payload).description, name);
  }
});

test('every spec property is in our schema, top level and in dataFields, with the same JSON type', () => {
  let checked = 0;
  for (const message of specMessages) {
    const ours = EVENT_SCHEMAS[message.name as (typeof SPEC_EVENT_NAMES)[number]] as Json;
    assert.deepEqual(driftProblems(message.name, message.payload, ours), [], message.name);
    checked += Object.keys(specProperties(message.payload)).length;
  }
  assert.ok(checked > 200, `only ${checked} properties compared`);
});

test('field descriptions are the spec descriptions', () => {
  for (const message of specMessages) {
    const ours = EVENT_SCHEMAS[message.name as (typeof SPEC_EVENT_NAMES)[number]] as Json;
    for (const [key, prop] of Object.entries(specProperties(message.payload))) {
      if (key === 'dataFields') continue;
      assert.equal(ours.properties[key].description, prop.description, `${message.name}.${key}`);
    }
  }
});

test('the drift check catches a removed, a retyped and a nested retyped property', () => {
  const emailSend = spec.components.messages.EmailSend.payload;
  const ours = structuredClone(EVENT_SCHEMAS.emailSend) as Json;
  delete ours.properties.emailSubject;
  ours.properties.dataFields.properties.campaignId = { type: ['string', 'null'] };
  const problems = driftProblems('emailSend', emailSend, ours);
  assert.ok(
    problems.some((p) => p.startsWith('emailSend.emailSubject: missing')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.startsWith('emailSend.dataFields.campaignId: spec type integer')),
    problems.join('\n'),
  );

  const purchase = structuredClone(EVENT_SCHEMAS.purchase) as Json;
  purchase.properties.items.items.properties.quantity = { type: ['number', 'null'] };
  const nested = driftProblems('purchase', spec.components.messages.Purchase.payload, purchase);
  // structuredClone keeps the item schema shared by both placements, so both report it.
  assert.deepEqual(nested, [
    'purchase.items[].quantity: spec type integer, ours ["number","null"]',
    'purchase.dataFields.items[].quantity: spec type integer, ours ["number","null"]',
  ]);
});
