import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ERRORS, errorBody, renderErrorDoc, statusLine, type ErrorCode } from '../src/errors.ts';
import { HandoffRefused } from '../src/events/record.ts';

const INGRESS = new URL('../src/ingress/', import.meta.url);
const ADMIN = new URL('../src/admin/', import.meta.url);
const ERROR_DOC = new URL('../docs/errors.md', import.meta.url);
// Every place ingress names an error code: answerNow(res, start, 'x'), answerError(ex, 'x'), fail('x', ...), { error: 'x' }.
const USES = /(?:answerNow\(\w+,\s*\w+,\s*|answerError\(\w+,\s*|fail\(|error:\s*)'([a-z0-9_]+)'/g;

describe('error table', () => {
  it('has a 4xx/5xx status, a status text and a sentence for every code', () => {
    for (const [code, spec] of Object.entries(ERRORS)) {
      assert.match(code, /^[a-z][a-z0-9_]*$/);
      assert.ok(spec.status >= 400 && spec.status < 600, code);
      assert.notEqual(
        statusLine(spec.status),
        `${spec.status} Error`,
        `${code}: status ${spec.status} has no reason phrase`,
      );
      assert.match(spec.message, /^[A-Z].*\.$/, code);
      assert.deepEqual(JSON.parse(errorBody(code as ErrorCode)), { error: code, message: spec.message });
    }
  });

  it('lists every code the ingress source can answer with', () => {
    const used = new Set<string>();
    for (const file of readdirSync(INGRESS).filter((f) => f.endsWith('.ts'))) {
      for (const m of readFileSync(new URL(file, INGRESS), 'utf8').matchAll(USES)) used.add(m[1]!);
    }
    // Guard against the scan silently matching nothing.
    assert.ok(used.size >= 15, `only found ${[...used].join(', ')}`);
    for (const code of used) assert.ok(code in ERRORS, `ingress answers with "${code}", which is not in src/errors.ts`);
  });

  it('lists every HandoffRefused reason (ingress answers with the reason as the code)', () => {
    const reasons: HandoffRefused['reason'][] = ['storage_full', 'shutting_down', 'storage_error'];
    for (const r of reasons) assert.equal(ERRORS[r].status, 503, r);
  });

  it('lists every code the admin listener answers with (one table for ingress and admin)', () => {
    const used = new Set<string>();
    for (const file of readdirSync(ADMIN).filter((f) => f.endsWith('.ts'))) {
      for (const m of readFileSync(new URL(file, ADMIN), 'utf8').matchAll(/errorBody\('([a-z0-9_]+)'\)/g))
        used.add(m[1]!);
    }
    assert.ok(used.size >= 4, `only found ${[...used].join(', ')}`);
    for (const code of used) assert.ok(code in ERRORS, `admin answers with "${code}", which is not in src/errors.ts`);
  });

  it('documents every code with its status in docs/errors.md (run `npm run docs` when this fails)', () => {
    const doc = readFileSync(ERROR_DOC, 'utf8');
    assert.equal(doc, renderErrorDoc(), 'docs/errors.md is stale: run `npm run docs`');
    for (const [code, spec] of Object.entries(ERRORS))
      assert.ok(doc.includes(`| \`${code}\` | ${spec.status} |`), code);
  });
});
