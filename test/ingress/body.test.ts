import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BodyBuffer, announcedLength, isJsonContentType } from '../../src/ingress/body.ts';

const ab = (s: string) => {
  const b = Buffer.from(s);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
};

describe('isJsonContentType', () => {
  const table: [string, boolean][] = [
    ['application/json', true],
    ['Application/JSON', true],
    ['application/json; charset=utf-8', true],
    ['application/json;charset=UTF-8', true],
    ['application/json; charset="utf-8"', true],
    ['', true],
    ['application/json; charset=latin1', false],
    ['text/plain', false],
    ['application/jsonx', false],
    ['application/x-www-form-urlencoded', false],
    ['multipart/form-data; boundary=x', false],
  ];
  for (const [ct, ok] of table) it(`${JSON.stringify(ct)} → ${ok}`, () => assert.equal(isJsonContentType(ct), ok));
});

describe('announcedLength', () => {
  it('parses digits, -1 for absent, NaN for junk', () => {
    assert.equal(announcedLength('0'), 0);
    assert.equal(announcedLength('1048576'), 1048576);
    assert.equal(announcedLength(''), -1);
    assert.ok(Number.isNaN(announcedLength('-1')));
    assert.ok(Number.isNaN(announcedLength('1e3')));
    assert.ok(Number.isNaN(announcedLength('9'.repeat(30))));
  });
});

describe('BodyBuffer', () => {
  it('copies chunks into one buffer of the announced length', () => {
    const b = new BodyBuffer(100, 11);
    const chunk = ab('hello ');
    assert.equal(b.add(chunk), true);
    new Uint8Array(chunk).fill(0); // uWS neuters/reuses chunks: the copy must not change
    assert.equal(b.add(ab('world')), true);
    assert.equal(b.take().toString(), 'hello world');
  });
  it('collects chunks of unknown total length', () => {
    const b = new BodyBuffer(100, -1);
    b.add(ab('ab'));
    b.add(ab(''));
    b.add(ab('cd'));
    assert.equal(b.take().toString(), 'abcd');
    assert.equal(new BodyBuffer(10, -1).take().length, 0);
  });
  it('refuses as soon as the running total passes the limit', () => {
    const b = new BodyBuffer(5, -1);
    assert.equal(b.add(ab('12345')), true);
    assert.equal(b.add(ab('6')), false);
    assert.equal(b.size, 5);
  });
  it('copes with more bytes than announced', () => {
    const b = new BodyBuffer(100, 2);
    b.add(ab('abc'));
    b.add(ab('d'));
    assert.equal(b.take().toString(), 'abcd');
  });
});
