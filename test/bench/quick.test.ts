// The bench's quick mode still starts every scenario and baseline and writes a complete report (figures never asserted).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const EXPECTED = [
  'ceiling',
  'durable-ceiling',
  'naive',
  'ingress',
  'ingress-node',
  'ingress-jwt',
  'route',
  'fanout',
  'http-sink',
  'remote-http',
  'backlog',
  'reload',
];

test(
  'bench --quick writes JSON, markdown and SVG with an entry for every scenario and baseline',
  { timeout: 150_000 },
  async () => {
    const out = await mkdtemp(join(tmpdir(), 'hookroute-bench-test-'));
    try {
      const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = execFile(
          process.execPath,
          ['--import', 'tsx', join(root, 'bench', 'run.ts'), '--quick', '--out', out],
          { cwd: root, timeout: 140_000, maxBuffer: 16 << 20 },
          (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
        );
        child.stdin?.end();
      });
      assert.equal(code, 0, `bench exited ${code}: ${stderr.slice(-2000)}`);
      const files = await readdir(out);
      const json = files.filter((f) => f.endsWith('.json'));
      assert.equal(json.length, 1, `one JSON report expected, got ${files.join(', ')}`);
      assert.ok(files.includes('latest.md') && files.includes('latest.svg'));
      const report = JSON.parse(await readFile(join(out, json[0]!), 'utf8')) as {
        quick: boolean;
        scenarios: { name: string; status: string; reason?: string; runs: unknown[] }[];
        targets: unknown[];
      };
      assert.equal(report.quick, true);
      assert.deepEqual(
        report.scenarios.map((s) => s.name),
        EXPECTED,
      );
      // The daemon exists, so every scenario, baselines and daemon alike, must produce real figures.
      for (const s of report.scenarios) {
        assert.equal(s.status, 'ok', `${s.name}: ${s.status}${s.reason ? ` (${s.reason})` : ''}`);
        assert.ok(s.runs.length >= 1, `${s.name}: ok without runs`);
      }
      assert.ok(report.targets.length > 0);
      const md = await readFile(join(out, 'latest.md'), 'utf8');
      for (const name of EXPECTED) assert.ok(md.includes(`| ${name} |`), `latest.md lacks ${name}`);
      assert.match(
        await readFile(join(out, 'latest.svg'), 'utf8'),
        /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"[\s\S]*<\/svg>\s*$/,
      );
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  },
);
