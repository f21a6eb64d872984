// `hookroute test`: runs pipeline tests (`*.test.yaml`) through match and transform only, and reports every mismatch readably.
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { ConfigError, loadConfig } from '../config/load.ts';
import { formatProblem, type Problem } from '../schema-kit/yaml-source.ts';
import { MemorySeenKeys } from '../dedupe/seen-keys.ts';
import { silentLogger } from '../log.ts';
import { Router } from '../pipelines/router.ts';
import { readTestFile } from '../pipelines/testing/test-file.ts';
import { runCase } from '../pipelines/testing/test-runner.ts';
import { loadOffline } from './load-offline.ts';

const TEST_FILE = /\.test\.ya?ml$/i;

/**
 * Run the pipeline tests in `paths` (files or folders; default: the pipelines folder and its `tests/` folder).
 * Exit code 0 when every case passes, 1 on any failure or problem.
 * @example
 * process.exitCode = await runTest({ paths: [] }, process.stdout, process.stderr);
 * // PASS pipelines/bounces-to-file.test.yaml › a hard bounce is recorded
 * // 5 passed, 0 failed
 */
export async function runTest(
  opts: { config?: string; paths: string[] },
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  try {
    const config = await loadConfig(opts.config !== undefined ? { file: opts.config } : {});
    const loaded = await loadOffline(config, silentLogger);
    const problems: Problem[] = [...loaded.problems];
    const explicit = opts.paths.length > 0;
    const files = await findTestFiles(
      explicit ? opts.paths.map((p) => resolve(p)) : [config.pipelines.dir, join(config.pipelines.dir, 'tests')],
      explicit,
      problems,
    );
    let passed = 0;
    let failed = 0;
    for (const file of files) {
      const { cases, problems: fileProblems } = await readTestFile(file, display(file));
      problems.push(...fileProblems);
      const seen = new MemorySeenKeys(); // dedupe keys are shared by the cases of one file, in order
      for (const [i, c] of cases.entries()) {
        const failures = await runCase(loaded.table as Router, c, seen, i + 1);
        if (failures.length === 0) {
          passed++;
          out.write(`PASS ${c.file} › ${c.name}\n`);
        } else {
          failed++;
          out.write(`FAIL ${c.file}:${c.line} › ${c.name}\n${failures.map((f) => `  ${f}`).join('\n')}\n`);
        }
      }
    }
    for (const p of problems) out.write(`${formatProblem(p)}\n`);
    if (files.length === 0 && problems.length === 0) {
      out.write(`no *.test.yaml files found in ${explicit ? opts.paths.join(', ') : display(config.pipelines.dir)}\n`);
      return explicit ? 1 : 0;
    }
    out.write(
      `${passed} passed, ${failed} failed${problems.length ? `, ${problems.length} problem${problems.length === 1 ? '' : 's'}` : ''}\n`,
    );
    return failed === 0 && problems.length === 0 ? 0 : 1;
  } catch (e) {
    if (e instanceof ConfigError) {
      for (const p of e.problems) out.write(`${formatProblem(p)}\n`);
      return 1;
    }
    err.write(`hookroute test: ${(e as Error).message}\n`);
    return 1;
  }
}

/** Test files named directly, or found (not recursively) in the folders given; a named path that is missing is a problem. */
async function findTestFiles(paths: string[], explicit: boolean, problems: Problem[]): Promise<string[]> {
  const found: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info) {
      if (explicit) problems.push({ file: display(path), line: 1, col: 1, message: 'no such file or folder' });
      continue;
    }
    if (info.isFile()) {
      found.push(path);
      continue;
    }
    const names = (await readdir(path, { withFileTypes: true })).filter(
      (e) => e.isFile() && TEST_FILE.test(e.name) && !e.name.startsWith('.'),
    );
    found.push(...names.map((e) => join(path, e.name)).sort());
  }
  return [...new Set(found)];
}

function display(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}
