import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as api from '../src/index.ts';
import { Compile } from 'typebox/compile';

test('the public plugin API exports exactly what plugin authors need', () => {
  assert.deepEqual(Object.keys(api).sort(), [
    'HttpClient',
    'Type',
    'checkHttpUrl',
    'classifyReply',
    'defineSink',
    'ok',
    'parseRetryAfter',
    'permanent',
    'retryable',
  ]);
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

test('plugins get the shared HTTP status rule and Retry-After parsing', () => {
  const reply = (status: number, headers: Record<string, string> = {}) => ({ status, headers, text: '' });
  assert.deepEqual(api.classifyReply(reply(204)), { ok: true });
  assert.deepEqual(api.classifyReply(reply(429, { 'retry-after': '3' })), {
    ok: false,
    retryable: true,
    error: 'HTTP 429',
    status: 429,
    retryAfterMs: 3000,
  });
  assert.deepEqual(api.classifyReply(reply(404)), { ok: false, retryable: false, error: 'HTTP 404', status: 404 });
  assert.equal(api.parseRetryAfter('Wed, 02 Dec 2026 12:00:10 GMT', Date.parse('2026-12-02T12:00:00Z')), 10_000);
  assert.throws(() => api.checkHttpUrl('ftp://example.com/'));
});
