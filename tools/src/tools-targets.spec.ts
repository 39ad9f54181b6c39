// The tools targets pass the arguments after `--` literally: the REAL `nx run tools:embed` (spawned without a
// shell, so the strings below are exactly what a user's shell would hand to nx) runs the real CLI through the
// workspace's tsx executor (tools/executors/tsx.cjs) on a generated tiny model.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childEnv, REPO_ROOT, tinyModelDir } from '@image-search/testing';

const project = JSON.parse(readFileSync(join(REPO_ROOT, 'tools/project.json'), 'utf8')) as {
  targets: Record<string, { executor?: string; options?: { script?: string } }>;
};
const cliTargets = Object.entries(project.targets).filter(([name]) => !['lint', 'typecheck', 'test'].includes(name));

function nxRun(args: string[]): Promise<{ code: number | null; stdout: string; output: string }> {
  const child = spawn(join(REPO_ROOT, 'node_modules/.bin/nx'), args, {
    cwd: REPO_ROOT,
    shell: false,
    env: childEnv({ NX_DAEMON: 'false', NX_TUI: 'false', NX_NO_CLOUD: 'true', FORCE_COLOR: '0' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let output = '';
  child.stdout.on('data', (d: Buffer) => ((stdout += d.toString()), (output += d.toString())));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, output })));
}

describe('tools targets', () => {
  it.each(cliTargets)('%s runs its CLI through the literal-argument executor', (_name, target) => {
    expect(target.executor).toBe('@image-search/tools:tsx');
    expect(existsSync(join(REPO_ROOT, target.options?.script ?? 'missing'))).toBe(true);
  });

  it('nx run tools:embed -- passes $, backticks, quotes, spaces, unicode and flag-like words literally', async () => {
    const dir = await tinyModelDir('clip', 'colour', 'hf');
    const texts = [
      '$HOME',
      '`id` $(id)',
      `it's "quoted"`,
      '  two  spaces ',
      'ünïcødé 日本 🙂',
      '*',
      '\\n;|&',
      '--help',
    ];
    // `--text=VALUE` keeps the flag-like last text a value.
    const args = texts.slice(0, -1).flatMap((t) => ['--text', t]);
    const r = await nxRun(['run', 'tools:embed', '--', '--model', dir, '--tokens', ...args, `--text=${texts.at(-1)}`]);
    expect(r.code, r.output).toBe(0);
    const json = r.stdout.slice(r.stdout.indexOf('{'), r.stdout.lastIndexOf('}') + 1);
    const out = JSON.parse(json) as { results: { text: string }[] };
    expect(out.results.map((x) => x.text)).toEqual(texts);
  });
});
