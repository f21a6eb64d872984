import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unsafeRegexes } from '../../../src/pipelines/jsonata/regex-guard.ts';

test('nested quantifiers are found wherever the regex sits in the expression', () => {
  assert.deepEqual(
    unsafeRegexes('$contains(email, /^(a+)+$/)').map((r) => r.source),
    ['^(a+)+$'],
  );
  assert.deepEqual(
    unsafeRegexes('{ "x": $match(a, /(x+x+)+y/), "y": $replace(b, /ok/, "") }').map((r) => r.source),
    ['(x+x+)+y'],
  );
  assert.deepEqual(unsafeRegexes('dataFields.items[$contains(name, /(\\w+\\s?)*$/)]').length, 1);
});

test('linear regexes, plain strings and broken expressions pass', () => {
  assert.deepEqual(unsafeRegexes('$contains(email, /@example\\.com$/i)'), []);
  assert.deepEqual(unsafeRegexes('$contains(email, "(a+)+")'), [], 'a string argument is not a regex');
  assert.deepEqual(unsafeRegexes('{ "a": '), []);
});
