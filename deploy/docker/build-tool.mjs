#!/usr/bin/env node
// Bundles one tools CLI (e.g. tools/src/fetch-model.cli.ts) into a single ESM file for images,
// the way tools/scripts/build-app.mjs bundles apps: workspace libs inlined, third-party packages
// external (installed by `npm ci --omit=dev`). Usage: build-tool.mjs <entry.ts> <out.mjs>
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(new URL('../..', import.meta.url).pathname);
const [entry, outfile] = process.argv.slice(2);
if (!entry || !outfile) {
  console.error('usage: build-tool.mjs <entry.ts> <out.mjs>');
  process.exit(2);
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
await build({
  entryPoints: [join(root, entry)],
  outfile: join(root, outfile),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  external: Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }),
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
});
