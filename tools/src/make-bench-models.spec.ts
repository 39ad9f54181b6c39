import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@image-search/testing';
import { describe, expect, it } from 'vitest';

const run = async (args: string[]): Promise<{ code: number; out: string }> => {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      resolve(REPO_ROOT, 'node_modules/.bin/tsx'),
      ['tools/src/make-bench-models.cli.ts', ...args],
      { cwd: REPO_ROOT },
    );
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
};

// Generating the full-size models takes about a minute and 1.7 GB, so it is not part of the test
// suite; the builder itself is tested at tiny size in libs/model-builder.
describe('make-bench-models CLI arguments', () => {
  it('prints usage with --help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('--variants');
  });

  it.each([
    [['--family', 'vit'], '--family must be clip or siglip'],
    [['--variants', 'fp16'], '--variants takes fp32 and/or int8'],
    [['--seed', 'abc'], '--seed must be a non-negative integer'],
    [['--bogus'], "Unknown option '--bogus'"],
  ])('rejects %j with a clear message and exit code 2', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.out).toContain(message);
  });
});
