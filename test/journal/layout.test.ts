import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { deadLetterDir, journalDir, lockFile } from '../../src/journal/layout.ts';

describe('storage layout', () => {
  it('keeps the journal, the dead letters and the lock apart under storage.dir', () => {
    const dir = join('/var', 'lib', 'hookroute');
    const paths = [journalDir(dir), deadLetterDir(dir), lockFile(dir)];
    assert.deepEqual(paths, [join(dir, 'journal'), join(dir, 'dlq'), join(dir, 'hookroute.lock')]);
    assert.equal(new Set(paths).size, 3);
  });
});
