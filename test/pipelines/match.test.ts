import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventMatcher, globProblem, globToRegExp } from '../../src/pipelines/match.ts';

test('exact names, globs and match-all entries, in entry order, without duplicates', () => {
  const m = new EventMatcher([
    { value: 'bounces', events: ['emailBounce', 'emailComplaint', '*Bounce'] },
    { value: 'everything' },
    { value: 'sms', events: ['sms*'] },
    { value: 'in-app', events: ['inApp????'] },
  ]);
  assert.deepStrictEqual(m.candidates('emailBounce'), ['bounces', 'everything']);
  assert.deepStrictEqual(m.candidates('smsBounce'), ['bounces', 'everything', 'sms']);
  assert.deepStrictEqual(m.candidates('inAppOpen'), ['everything', 'in-app']);
  assert.deepStrictEqual(m.candidates('inAppClick'), ['everything']);
  assert.deepStrictEqual(m.candidates('emailbounce'), ['everything'], 'names are case-sensitive');
});

test('glob characters other than * and ? are literal', () => {
  assert.equal(globToRegExp('a.b').test('a.b'), true);
  assert.equal(globToRegExp('a.b').test('axb'), false);
  assert.equal(globToRegExp('email*').test('email'), true);
  assert.equal(globToRegExp('email*').test('xemail'), false);
});

test('globProblem refuses characters that are not part of event names', () => {
  assert.equal(globProblem('email*'), undefined);
  assert.equal(globProblem('push-send:v2'), undefined);
  for (const bad of ['email[A-Z]', 'a b', '', 'x'.repeat(129), '(email)']) assert.ok(globProblem(bad), bad);
});

test('the cache of seen eventNames stays bounded and answers stay right after eviction', () => {
  const m = new EventMatcher([{ value: 'any-email', events: ['email*'] }], { cacheSize: 100 });
  for (let i = 0; i < 1000; i++) m.candidates(`attacker${i}`);
  assert.equal(m.cachedNames, 100);
  assert.deepStrictEqual(m.candidates('emailOpen'), ['any-email']);
  assert.deepStrictEqual(m.candidates('attacker0'), []);
  const before = m.cachedNames;
  const evicted = m.candidates('emailOpen');
  assert.deepStrictEqual(m.candidates(`email${'x'.repeat(10_000)}`), ['any-email'], 'long names are still matched');
  assert.equal(m.cachedNames, before, 'but not cached');
  assert.equal(m.candidates('emailOpen'), evicted, 'and evict nothing');
});

test('a match lists only the entries that name the event, not all of them', () => {
  const entries = Array.from({ length: 200 }, (_, i) => ({ value: i, events: [`custom${i}`] }));
  const m = new EventMatcher(entries);
  assert.deepStrictEqual(m.candidates('custom42'), [42]);
  assert.deepStrictEqual(m.candidates('emailOpen'), []);
});
