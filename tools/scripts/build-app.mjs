#!/usr/bin/env node
// Bundles one app's src/main.ts (and its libs) into dist/<app>/main.mjs with esbuild.
// Packages with native code or runtime-loaded files stay external and come from node_modules.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(new URL('../..', import.meta.url).pathname);
const projectRoot = process.argv[2];
if (!projectRoot) {
  console.error('usage: build-app.mjs <projectRoot>');
  process.exit(2);
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// Every third-party dependency stays external (installed by `npm ci --omit=dev` in the image);
// only the workspace's own libs are bundled.
const external = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
await build({
  entryPoints: [join(root, projectRoot, 'src/main.ts')],
  outfile: join(root, 'dist', projectRoot, 'main.mjs'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  external,
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'info',
});
