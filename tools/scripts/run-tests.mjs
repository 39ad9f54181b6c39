#!/usr/bin/env node
// `npm test`: formatting check, lint, type-check, unit and integration tests of every project (through Nx),
// then the circular-import check. Integration tests need Redis: see redis-env.mjs.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureRedis } from './redis-env.mjs';

const root = new URL('../..', import.meta.url).pathname;
const started = Date.now();
const redis = await ensureRedis(process.env.REDIS_URL).catch((err) => {
  console.error(`\n${err.message}\n`);
  process.exit(1);
});
const resultsDir = mkdtempSync(join(tmpdir(), 'test-results-'));
const env = {
  ...process.env,
  TEST_RESULTS_DIR: resultsDir,
  REDIS_URL: redis.url,
  NX_DAEMON: 'false',
  NX_NO_CLOUD: 'true',
  NX_TUI: 'false',
  FORCE_COLOR: process.env.FORCE_COLOR ?? '0',
};
const targets = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const nxOutput = [];
const steps = [
  // Formatting first: it takes seconds and names every file that `npm run format` would change.
  ['prettier', ['--check', '--log-level', 'warn', '.']],
  [
    'nx',
    [
      'run-many',
      '-t',
      ...(targets.length ? targets : ['lint', 'typecheck', 'test']),
      '--parallel=2',
      '--outputStyle=static',
      ...(process.env.CI ? ['--skipNxCache'] : []),
    ],
  ],
  ['madge', ['--circular', '--warning', '--extensions', 'ts', '--exclude', 'generated', 'apps', 'libs', 'tools/src']],
];
let failed = false;
let failedTaskOutput = '';
for (const [cmd, args] of steps) {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  const status = await runStep(cmd, args);
  if (status !== 0) {
    failed = true;
    if (cmd === 'nx') failedTaskOutput = failedTaskTails();
    console.error(`\n${cmd} failed (exit ${status})`);
    break;
  }
}
/** Runs one step, streaming its output and keeping the nx step's text for the failure summary. */
function runStep(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(`${root}/node_modules/.bin/${cmd}`, args, {
      cwd: root,
      env,
      stdio: ['inherit', 'pipe', 'pipe'],
    });
    const keep = (chunk, out) => {
      out.write(chunk);
      if (cmd === 'nx') nxOutput.push(chunk.toString());
    };
    child.stdout.on('data', (c) => keep(c, process.stdout));
    child.stderr.on('data', (c) => keep(c, process.stderr));
    child.on('close', (code, signal) => resolve(code ?? signal));
  });
}

/**
 * The last lines of each failed Nx task's own output. Nx prints a task's output where the task
 * ends, often many minutes before the log's end, and CI logs are read from the tail.
 */
function failedTaskTails() {
  const text = nxOutput.join('');
  const list = text.split('Failed tasks:')[1] ?? '';
  const names = [...list.matchAll(/^\s*- (\S+:\S+)/gm)].map((m) => m[1]);
  return names
    .map((name) => {
      const start = text.lastIndexOf(`> nx run ${name}`);
      if (start < 0) return `${name}: no output found`;
      const next = text.indexOf('\n> nx run ', start + 1);
      const section = text.slice(start, next < 0 ? text.indexOf('Failed tasks:') : next).split('\n');
      return [`--- last lines of ${name} ---`, ...section.slice(-80)].join('\n');
    })
    .join('\n');
}

await redis.stop();
// One plain total over every project's vitest run (each writes a JSON report), so a CI log
// shows at a glance how many tests ran.
const totals = { passed: 0, failed: 0, skipped: 0, projects: 0 };
const failedFiles = [];
if (existsSync(resultsDir)) {
  for (const f of readdirSync(resultsDir).filter((x) => x.endsWith('.json'))) {
    try {
      const r = JSON.parse(readFileSync(join(resultsDir, f), 'utf8'));
      totals.passed += r.numPassedTests ?? 0;
      totals.failed += r.numFailedTests ?? 0;
      totals.skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
      totals.projects += 1;
      // A file can fail with every test passed (a hook timeout, a crashed fork, an unhandled error);
      // name it here, at the log's end, where CI's tail is read.
      for (const t of r.testResults ?? []) {
        if (t.status === 'failed') {
          failedFiles.push(
            `${f.replace(/\.json$/, '')}: ${t.name.replace(root, '')}: ${(t.message ?? '').split('\n')[0]}`,
          );
        }
      }
      if (r.success === false && !(r.testResults ?? []).some((t) => t.status === 'failed')) {
        failedFiles.push(
          `${f.replace(/\.json$/, '')}: the run failed outside any test file (unhandled error or crashed worker: see its output above)`,
        );
      }
    } catch {
      totals.failed += 1;
      console.error(`could not read test results ${f}`);
    }
  }
  rmSync(resultsDir, { recursive: true, force: true });
}
if (failedTaskOutput) console.log(`\n${failedTaskOutput}`);
if (totals.projects > 0) {
  console.log(`\n${totals.projects} projects tested`);
  console.log(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
  for (const line of failedFiles) console.log(`failed: ${line.slice(0, 400)}`);
}
console.log(`\nnpm test ${failed ? 'FAILED' : 'passed'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exit(failed ? 1 : 0);
