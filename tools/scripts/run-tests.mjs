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
const retried = [];
for (const [cmd, args] of steps) {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  let status = await runStep(cmd, args);
  if (status !== 0 && cmd === 'nx') {
    const first = nxOutput.join('');
    failedTaskOutput = failedTaskTails(first);
    // A vitest run can fail with every test passed: a fork that crashes while it exits (native addons in
    // worker threads) or an error outside any test. Such a project runs once more, and the log's end still
    // shows the first run's output; a failed test or lint or type error is never retried.
    const names = failedTaskNames(first);
    if (names.length > 0 && names.every(failedOutsideTests)) {
      retried.push(...names);
      const projects = names.map((n) => n.split(':')[0]).join(',');
      console.log(`\n${names.join(', ')} failed with every test passed; running ${projects} once more`);
      nxOutput.length = 0;
      status = await runStep('nx', ['run-many', '-t', 'test', '-p', projects, '--outputStyle=static', '--skipNxCache']);
      if (status !== 0) failedTaskOutput += `\n${failedTaskTails(nxOutput.join(''))}`;
    }
  }
  if (status !== 0) {
    failed = true;
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

/** The first non-empty line of an error text, without colour codes. */
function firstLine(text) {
  const plain = (text ?? '').replace(/\u001b\[[0-9;]*m/g, '');
  return plain.split('\n').find((l) => l.trim() !== '') ?? '(no message)';
}

/** The tasks an Nx run lists under "Failed tasks:". */
function failedTaskNames(text) {
  const list = text.split('Failed tasks:')[1] ?? '';
  return [...list.matchAll(/^\s*- (\S+:\S+)/gm)].map((m) => m[1]);
}

/** Whether a failed task is a test run whose own report shows tests that all passed and no failed file. */
function failedOutsideTests(name) {
  const [project, target] = name.split(':');
  const report = join(resultsDir, `${project}.json`);
  if (target !== 'test' || !existsSync(report)) return false;
  try {
    const r = JSON.parse(readFileSync(report, 'utf8'));
    return r.numTotalTests > 0 && r.numFailedTests === 0 && !(r.testResults ?? []).some((t) => t.status === 'failed');
  } catch {
    return false;
  }
}

/**
 * The last lines of each failed Nx task's own output. Nx prints a task's output where the task
 * ends, often many minutes before the log's end, and CI logs are read from the tail.
 */
function failedTaskTails(text) {
  return failedTaskNames(text)
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
        if (t.status !== 'failed') continue;
        const file = `${f.replace(/\.json$/, '')}: ${t.name.replace(root, '')}`;
        const failedTests = (t.assertionResults ?? []).filter((a) => a.status === 'failed');
        if (failedTests.length === 0) failedFiles.push(`${file}: ${firstLine(t.message)}`);
        for (const a of failedTests) failedFiles.push(`${file} > ${a.fullName}: ${firstLine(a.failureMessages?.[0])}`);
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
  for (const name of retried)
    console.log(`retried once: ${name} (its first run failed outside any test; output above)`);
}
console.log(`\nnpm test ${failed ? 'FAILED' : 'passed'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exit(failed ? 1 : 0);
