import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metrics } from '../src/admin/metrics.ts';
import { parseConfigText } from '../src/config/load.ts';
import { startDaemon } from '../src/daemon.ts';
import { silentLogger } from '../src/log.ts';

const count = async (c: Metrics['sinkStarts'] | Metrics['reloads']) =>
  (await c.get()).values.reduce((sum, v) => sum + v.value, 0);

test('reload: an unchanged set starts no sink and no lane; an edit restarts only what it changed; a burst coalesces', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hookroute-daemon-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await Promise.all(['pipelines', 'plugins', 'out'].map((d) => mkdir(join(dir, d))));
  const pipeline = (i: number, extra = '') =>
    `name: p${i}\n${extra}sinks:\n  - type: file\n    path: ${JSON.stringify(join(dir, 'out', `p${i}.jsonl`))}\n`;
  for (let i = 0; i < 10; i++) await writeFile(join(dir, 'pipelines', `p${i}.yaml`), pipeline(i));
  const config = parseConfigText(
    'server: { host: 127.0.0.1, port: 0 }\nadmin: { enabled: false }\npipelines: { dir: ./pipelines, watch: false }\nplugins: { dir: ./plugins }\nstorage: { dir: ./data }\n',
    { file: join(dir, 'config.yaml'), cwd: dir, env: {} },
  );
  const metrics = new Metrics({ processMetrics: false });
  const daemon = await startDaemon(config, silentLogger, { metrics });
  t.after(() => daemon.stop());
  assert.equal(await count(metrics.sinkStarts), 10);
  assert.equal(await count(metrics.laneStarts), 10);

  for (let i = 0; i < 3; i++) assert.deepEqual(await daemon.reload('test'), { ok: true, errors: [] });
  assert.equal(await count(metrics.sinkStarts), 10, 'no sink started again');
  assert.equal(await count(metrics.laneStarts), 10, 'no lane started again');

  // A description is not part of any sink's config: nothing restarts.
  await writeFile(join(dir, 'pipelines', 'p3.yaml'), pipeline(3, 'description: edited\n'));
  await daemon.reload('test');
  assert.equal(await count(metrics.sinkStarts), 10);

  // A changed sink option gets a new sink, handed to the running lane; a new file gets a new sink and lane.
  await writeFile(join(dir, 'pipelines', 'p4.yaml'), pipeline(4).replace('p4.jsonl', 'p4-new.jsonl'));
  await writeFile(join(dir, 'pipelines', 'p10.yaml'), pipeline(10));
  await daemon.reload('test');
  assert.equal(await count(metrics.sinkStarts), 12);
  assert.equal(await count(metrics.laneStarts), 11);

  // Reloads asked for while one runs coalesce into one more run, and every caller gets its result.
  const reloadsBefore = await count(metrics.reloads);
  const results = await Promise.all(Array.from({ length: 5 }, () => daemon.reload('burst')));
  assert.deepEqual(results, Array(5).fill({ ok: true, errors: [] }));
  assert.equal((await count(metrics.reloads)) - reloadsBefore, 2);
});
