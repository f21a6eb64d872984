import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAdminEndpoint, removeAdminEndpoint, writeAdminEndpoint } from '../../src/admin/endpoint-file.ts';

test('write, read back, remove; malformed files read as none', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hookroute-endpoint-'));
  try {
    assert.equal(await readAdminEndpoint(dir), undefined);
    await writeAdminEndpoint(dir, { pid: 42, host: '127.0.0.1', port: 9091 });
    assert.deepEqual(await readAdminEndpoint(dir), { pid: 42, host: '127.0.0.1', port: 9091 });
    await removeAdminEndpoint(dir);
    assert.equal(await readAdminEndpoint(dir), undefined);
    await writeFile(join(dir, 'admin.json'), '{"pid":1,"host":"x","port":0}');
    assert.equal(await readAdminEndpoint(dir), undefined);
    await writeFile(join(dir, 'admin.json'), '{"pid":1,"ho');
    assert.equal(await readAdminEndpoint(dir), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
