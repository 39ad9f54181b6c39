#!/usr/bin/env node
// Drops optional platform packages that the lock file names but could not resolve (the
// registry this project is built against lacks some platform builds of a few packages, e.g.
// @lancedb/lancedb-darwin-arm64@0.37.1). Without this, `npm ci` refuses the lock with
// "Missing: <pkg>@ from lock file". Run after `npm install` changes the lock.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const pkgs = lock.packages;
let removed = 0;
function resolves(fromKey, name) {
  // Node resolution: nearest node_modules/<name> walking up from the package's folder.
  let base = fromKey;
  for (;;) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (pkgs[candidate]) return true;
    if (!base) return false;
    const idx = base.lastIndexOf('/node_modules/');
    base = idx >= 0 ? base.slice(0, idx) : '';
  }
}
for (const [key, entry] of Object.entries(pkgs)) {
  if (!entry.optionalDependencies) continue;
  for (const name of Object.keys(entry.optionalDependencies)) {
    const from = entry.link ? entry.resolved : key;
    if (!resolves(from, name)) {
      delete entry.optionalDependencies[name];
      removed++;
    }
  }
}
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`prune-lock: removed ${removed} unresolvable optional dependencies`);
