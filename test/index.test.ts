import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as api from '../src/index.ts';
import { Compile } from 'typebox/compile';

test('the public plugin API exports exactly what plugin authors need', () => {
  assert.deepEqual(Object.keys(api).sort(), ['Type', 'defineSink', 'ok', 'permanent', 'retryable']);
  const def = api.defineSink({
    type: 'demo',
    description: 'demo',
    options: api.Type.Object({ url: api.Type.String() }),
    create: () => ({
      async send() {
        return api.ok();
      },
      async close() {},
    }),
  });
  assert.equal(Compile(def.options).Check({ url: 'x' }), true);
  assert.deepEqual(api.retryable('busy', { status: 503, retryAfterMs: 10 }), {
    ok: false,
    retryable: true,
    error: 'busy',
    status: 503,
    retryAfterMs: 10,
  });
  assert.deepEqual(api.permanent('no', { status: 400 }), { ok: false, retryable: false, error: 'no', status: 400 });
});
