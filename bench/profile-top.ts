// `tsx bench/profile-top.ts [FILE.cpuprofile ...]`: where the daemon's CPU went, by self time per function and per file.
// Reads the profiles `--cpu-prof` wrote (default: the newest in bench/results/profiles).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { benchDir, repoRoot } from './harness/paths.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function newestProfile(): string[] {
  const dir = join(benchDir, 'results', 'profiles');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f));
  files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return files.slice(0, 1);
}

function where(url: string): string {
  if (!url) return '(native)';
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  const rel = relative(repoRoot, path);
  const nm = rel.lastIndexOf('node_modules/');
  return nm >= 0
    ? rel
        .slice(nm + 13)
        .split('/')
        .slice(0, rel.slice(nm + 13).startsWith('@') ? 2 : 1)
        .join('/')
    : rel;
}

function top(map: Map<string, number>, total: number, n: number): string[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([k, us]) => `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`,
    );
}

const files = process.argv.slice(2).length ? process.argv.slice(2) : newestProfile();
for (const file of files) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node) return;
    total += dt;
    const f = node.callFrame;
    const loc = where(f.url);
    byFn.set(
      `${f.functionName || '(anonymous)'}  ${loc}:${f.lineNumber + 1}`,
      (byFn.get(`${f.functionName || '(anonymous)'}  ${loc}:${f.lineNumber + 1}`) ?? 0) + dt,
    );
    byFile.set(loc, (byFile.get(loc) ?? 0) + dt);
  });
  console.log(
    `# ${file} (${(total / 1e6).toFixed(1)} s sampled)\n\n## self time by file / package\n${top(byFile, total, 20).join('\n')}\n\n## self time by function\n${top(byFn, total, 30).join('\n')}\n`,
  );
}
