#!/usr/bin/env node
// `npm test`: formatting check, lint, type-check, unit and integration tests of every project (through Nx),
// then the circular-import check. Integration tests need Redis: see redis-env.mjs.
import { spawnSync } from 'node:child_process';
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
for (const [cmd, args] of steps) {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(`${root}/node_modules/.bin/${cmd}`, args, { cwd: root, env, stdio: 'inherit' });
  if (r.status !== 0) {
    failed = true;
    console.error(`\n${cmd} failed (exit ${r.status ?? r.signal})`);
    break;
  }
}
await redis.stop();
// One plain total over every project's vitest run (each writes a JSON report), so a CI log
// shows at a glance how many tests ran.
const totals = { passed: 0, failed: 0, skipped: 0, projects: 0 };
if (existsSync(resultsDir)) {
  for (const f of readdirSync(resultsDir).filter((x) => x.endsWith('.json'))) {
    try {
      const r = JSON.parse(readFileSync(join(resultsDir, f), 'utf8'));
      totals.passed += r.numPassedTests ?? 0;
      totals.failed += r.numFailedTests ?? 0;
      totals.skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
      totals.projects += 1;
    } catch {
      totals.failed += 1;
      console.error(`could not read test results ${f}`);
    }
  }
  rmSync(resultsDir, { recursive: true, force: true });
}
if (totals.projects > 0) {
  console.log(`\n${totals.projects} projects tested`);
  console.log(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
}
console.log(`\nnpm test ${failed ? 'FAILED' : 'passed'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exit(failed ? 1 : 0);
