import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHttpUrl, classifyReply, header } from '../../../src/sinks/util/http-client.ts';

const reply = (status: number, headers: Record<string, string | string[]> = {}, text = '') => ({
  status,
  headers,
  text,
});
const NOW = Date.parse('Fri, 27 Nov 2026 17:00:00 GMT');

test('classifyReply: 2xx ok, 408/429/5xx retryable, other statuses permanent', () => {
  for (const s of [200, 201, 204, 299]) assert.deepEqual(classifyReply(reply(s), NOW), { ok: true });
  for (const s of [408, 429, 500, 502, 503, 504, 599])
    assert.equal(
      classifyReply(reply(s), NOW).ok === false && (classifyReply(reply(s), NOW) as { retryable: boolean }).retryable,
      true,
      String(s),
    );
  for (const s of [301, 302, 400, 401, 403, 404, 409, 410, 413, 422])
    assert.deepEqual(classifyReply(reply(s), NOW), { ok: false, retryable: false, error: `HTTP ${s}`, status: s });
});

test('classifyReply: Retry-After as seconds or date; a long body is quoted briefly on one line', () => {
  assert.deepEqual(classifyReply(reply(503, { 'retry-after': 'Fri, 27 Nov 2026 17:01:00 GMT' }), NOW), {
    ok: false,
    retryable: true,
    error: 'HTTP 503',
    status: 503,
    retryAfterMs: 60_000,
  });
  assert.deepEqual(classifyReply(reply(429, { 'retry-after': ['3', '9'] }), NOW), {
    ok: false,
    retryable: true,
    error: 'HTTP 429',
    status: 429,
    retryAfterMs: 3000,
  });
  assert.deepEqual(classifyReply(reply(500, { 'retry-after': 'later' }), NOW), {
    ok: false,
    retryable: true,
    error: 'HTTP 500',
    status: 500,
  });
  const out = classifyReply(reply(500, {}, `line one\nline two ${'z'.repeat(1000)}`), NOW);
  assert.ok(!out.ok);
  assert.match(out.error, /^HTTP 500: line one line two z+…$/);
  assert.ok(out.error.length < 220);
  assert.equal(header({ a: ['1', '2'] }, 'a'), '1');
});

test('checkHttpUrl accepts http(s) only, without credentials', () => {
  assert.equal(checkHttpUrl('https://example.com/x?y=1').pathname, '/x');
  assert.throws(() => checkHttpUrl('not a url'), /not a valid URL/);
  assert.throws(() => checkHttpUrl('javascript:alert(1)'), /http or https/);
  assert.throws(() => checkHttpUrl('http://user:pw@example.com/'), /credentials/);
});
