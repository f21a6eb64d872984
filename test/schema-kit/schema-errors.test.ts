import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Type from 'typebox';
import { Compile } from 'typebox/compile';
import { Duration, Size } from '../../src/schema-kit/units.ts';
import {
  DURATION_HINT,
  SIZE_HINT,
  describeUnion,
  keyPath,
  pointerSegments,
  reportSchemaErrors,
  subschemaAt,
  type JsonSchema,
  type KeyPath,
  type SchemaError,
} from '../../src/schema-kit/schema-errors.ts';

const schema = Type.Object(
  {
    mode: Type.Union([Type.Literal('a'), Type.Literal('b')]),
    size: Size('1mb', ''),
    wait: Duration('1s', ''),
    clients: Type.Array(Type.Object({ id: Type.String(), secret: Type.String() }, { additionalProperties: false })),
  },
  { additionalProperties: false },
) as unknown as JsonSchema;

describe('keyPath', () => {
  it('joins keys with dots and indexes with brackets', () => {
    assert.equal(keyPath([]), '');
    assert.equal(keyPath(['server', 'port']), 'server.port');
    assert.equal(keyPath(['sinks', 0, 'retry', 'attempts']), 'sinks[0].retry.attempts');
    assert.equal(keyPath([0, 'a']), '[0].a');
  });
});

describe('pointerSegments', () => {
  it('splits a JSON pointer, unescapes ~1 and ~0 and turns digits into indexes', () => {
    assert.deepEqual(pointerSegments(''), []);
    assert.deepEqual(pointerSegments('/auth/oauth2/clients/0/id'), ['auth', 'oauth2', 'clients', 0, 'id']);
    assert.deepEqual(pointerSegments('/a~1b/c~0d/~01'), ['a/b', 'c~d', '~1']);
    assert.deepEqual(pointerSegments('/12x/007'), ['12x', 7]);
  });
});

describe('subschemaAt', () => {
  it('follows properties and items', () => {
    assert.equal(subschemaAt(schema, []), schema);
    assert.equal(subschemaAt(schema, ['clients', 3, 'id'])?.type, 'string');
    assert.ok(subschemaAt(schema, ['wait'])?.anyOf);
  });
  it('is undefined once the path leaves the schema, and for inherited keys', () => {
    assert.equal(subschemaAt(schema, ['nope']), undefined);
    assert.equal(subschemaAt(schema, ['nope', 'deeper', 0]), undefined);
    assert.equal(subschemaAt(schema, ['mode', 0]), undefined);
    assert.equal(subschemaAt(schema, ['constructor']), undefined);
    assert.equal(subschemaAt(schema, ['__proto__']), undefined);
    assert.equal(subschemaAt(schema, ['clients', 0, 'toString']), undefined);
  });
});

describe('describeUnion', () => {
  const hints = [SIZE_HINT, DURATION_HINT];
  it('lists the choices of an enum', () => {
    assert.equal(describeUnion(subschemaAt(schema, ['mode']), 'fallback', []), 'must be one of "a", "b"');
  });
  it('recognises size and duration unions by their pattern', () => {
    assert.equal(describeUnion(subschemaAt(schema, ['size']), 'fallback', hints), SIZE_HINT.message);
    assert.equal(describeUnion(subschemaAt(schema, ['wait']), 'fallback', hints), DURATION_HINT.message);
    assert.match(SIZE_HINT.message, /^must be a size such as 512kb/);
    assert.match(DURATION_HINT.message, /^must be a duration such as 250ms/);
  });
  it('words a union of numbers and literals branch by branch', () => {
    const count = Type.Union([Type.Integer({ minimum: 1, maximum: 100 }), Type.Literal('unlimited')]);
    assert.equal(
      describeUnion(count as unknown as JsonSchema, 'fallback', []),
      'must be an integer from 1 to 100 or "unlimited"',
    );
    const open = Type.Union([Type.Number({ minimum: 0 }), Type.Object({})]);
    assert.equal(
      describeUnion(open as unknown as JsonSchema, 'fallback', []),
      'fallback',
      'an object branch has no short wording',
    );
  });
  it('uses the first hint that matches, and only the hints given', () => {
    const any = { matches: () => true, message: 'first' };
    assert.equal(describeUnion(subschemaAt(schema, ['wait']), 'fallback', [any, DURATION_HINT]), 'first');
    assert.equal(describeUnion(subschemaAt(schema, ['size']), 'fallback', [DURATION_HINT]), 'fallback');
  });
  it('falls back for a schema that is not a union, or none at all', () => {
    assert.equal(describeUnion(subschemaAt(schema, ['clients']), 'must be array', hints), 'must be array');
    assert.equal(describeUnion(undefined, 'must be string', hints), 'must be string');
  });
});

describe('reportSchemaErrors', () => {
  const report = (errors: SchemaError[], base: KeyPath = []) => {
    const out: string[] = [];
    const described: string[] = [];
    reportSchemaErrors(
      errors,
      base,
      (path, message) => out.push(`${keyPath(path)}: ${message}`),
      (path, error) => {
        described.push(keyPath(path));
        return `${error.keyword}: ${error.message}`;
      },
    );
    return { out, described };
  };
  const error = (
    instancePath: string,
    keyword: string,
    message = `bad ${keyword}`,
    params: object = {},
  ): SchemaError => ({ instancePath, keyword, message, params });

  it('says "is required" at each missing key, under base', () => {
    const { out } = report(
      [error('/clients/0', 'required', 'must have required properties', { requiredProperties: ['id', 'secret'] })],
      ['section'],
    );
    assert.deepEqual(out, ['section.clients[0].id: is required', 'section.clients[0].secret: is required']);
  });
  it('skips unknown-key errors', () => {
    const { out } = report([
      error('', 'additionalProperties'),
      error('/x', 'boolean', 'schema is false'),
      error('/y', 'boolean', 'must be boolean'),
    ]);
    assert.deepEqual(out, ['y: boolean: must be boolean']);
  });
  it('reports the first error about each value only, worded by describe with the full path', () => {
    const { out, described } = report(
      [error('/wait', 'pattern'), error('/wait', 'type'), error('/wait', 'anyOf'), error('/clients/1/id', 'type')],
      ['cfg'],
    );
    assert.deepEqual(out, ['cfg.wait: pattern: bad pattern', 'cfg.clients[1].id: type: bad type']);
    assert.deepEqual(described, ['cfg.wait', 'cfg.clients[1].id']);
  });
  // TypeBox stops at 8 errors a run (a union alone gives several), so each value has few mistakes.
  const real = (value: unknown) => {
    const validator = Compile(schema as never);
    assert.equal(validator.Check(value), false);
    const out: string[] = [];
    reportSchemaErrors(
      validator.Errors(value),
      [],
      (path, message) => out.push(`${keyPath(path)}: ${message}`),
      (path, e) => describeUnion(subschemaAt(schema, path), e.message, [SIZE_HINT, DURATION_HINT]),
    );
    return out;
  };
  it('reads real TypeBox errors', () => {
    assert.deepEqual(real({ mode: 'c', size: 'big', wait: 1, clients: [] }), [
      'mode: must be one of "a", "b"',
      `size: ${SIZE_HINT.message}`,
    ]);
    assert.deepEqual(real({ mode: 'a', size: 1, wait: 'soon', clients: [{ id: 'x' }], extra: 1 }), [
      `wait: ${DURATION_HINT.message}`,
      'clients[0].secret: is required',
    ]);
  });
});
