import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interpolate, MAX_FILE_REF_BYTES, type InterpolationProblem } from '../../src/config/interpolate.ts';

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'hookroute-interpolate-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Interpolate `value` with files under `baseDir`; returns the result and the problems, one `path: message` each. */
function run(value: unknown, baseDir: string, env: NodeJS.ProcessEnv = {}): { out: unknown; problems: string[] } {
  const problems: InterpolationProblem[] = [];
  const out = interpolate(value, { env, baseDir }, problems);
  return { out, problems: problems.map((p) => `${p.path.join('.')}: ${p.message}`) };
}

test('${file:PATH} is the content without one trailing newline; relative paths resolve against baseDir', async () =>
  withDir(async (dir) => {
    await mkdir(join(dir, 'secrets'));
    await writeFile(join(dir, 'secrets', 'token'), 's3cret\n');
    await writeFile(join(dir, 'crlf'), 'pa:ss\r\n');
    await writeFile(join(dir, 'two-lines'), 'line1\nline2\n\n');
    await writeFile(join(dir, 'bare'), 'no-newline');
    const { out, problems } = run(
      {
        token: '${file:secrets/token}',
        abs: `\${file:${join(dir, 'crlf')}}`,
        mixed: 'Bearer ${file:./bare} for ${WHO}',
        lines: ['${file:two-lines}'],
        literal: '$${file:secrets/token}',
        envForm: '${file:-fallback}',
      },
      dir,
      { WHO: 'me' },
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(out, {
      token: 's3cret',
      abs: 'pa:ss',
      mixed: 'Bearer no-newline for me',
      lines: ['line1\nline2\n'],
      literal: '${file:secrets/token}',
      envForm: 'fallback',
    });
  }));

test('a missing, oversized or non-regular file is a problem naming the key, and the value becomes empty', async () =>
  withDir(async (dir) => {
    await writeFile(join(dir, 'big'), 'x'.repeat(MAX_FILE_REF_BYTES + 1));
    await writeFile(join(dir, 'limit'), 'y'.repeat(MAX_FILE_REF_BYTES));
    await mkdir(join(dir, 'folder'));
    execFileSync('mkfifo', [join(dir, 'fifo')]); // a FIFO read would block: it must be refused, not waited on
    const { out, problems } = run(
      {
        auth: { password: '${file:nope.txt}' },
        big: '${file:big}',
        limit: '${file:limit}',
        folder: '${file:folder}',
        fifo: '${file:fifo}',
        empty: '${file: }',
      },
      dir,
    );
    assert.deepEqual(problems, [
      `auth.password: \${file:nope.txt}: cannot read ${join(dir, 'nope.txt')}: no such file`,
      `big: \${file:big}: ${join(dir, 'big')} is ${MAX_FILE_REF_BYTES + 1} bytes; a referenced file may be at most 64kb`,
      `folder: \${file:folder}: ${join(dir, 'folder')} is not a regular file`,
      `fifo: \${file:fifo}: ${join(dir, 'fifo')} is not a regular file`,
      'empty: ${file: }: no file named',
    ]);
    const o = out as Record<string, unknown>;
    assert.deepEqual(o.auth, { password: '' });
    assert.equal(o.big, '');
    assert.equal((o.limit as string).length, MAX_FILE_REF_BYTES, 'exactly the limit is allowed');
  }));
