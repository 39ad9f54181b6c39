#!/usr/bin/env node
// `npm test`: lint, type-check, unit and integration tests of every project (through Nx),
// then the circular-import check. Integration tests need Redis: see redis-env.mjs.
import { spawnSync } from 'node:child_process';
import { ensureRedis } from './redis-env.mjs';

const root = new URL('../..', import.meta.url).pathname;
const started = Date.now();
const redis = await ensureRedis(process.env.REDIS_URL).catch((err) => {
  console.error(`\n${err.message}\n`);
  process.exit(1);
});
const env = { ...process.env, REDIS_URL: redis.url, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', FORCE_COLOR: process.env.FORCE_COLOR ?? '0' };
const targets = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const steps = [
  ['nx', ['run-many', '-t', ...(targets.length ? targets : ['lint', 'typecheck', 'test']), '--parallel=2', '--outputStyle=static', ...(process.env.CI ? ['--skipNxCache'] : [])]],
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
console.log(`\nnpm test ${failed ? 'FAILED' : 'passed'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exit(failed ? 1 : 0);
