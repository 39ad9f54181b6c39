#!/usr/bin/env node
// Generates TypeScript types for proto/embedder.proto with @grpc/proto-loader's generator
// (no protoc needed). `--check` regenerates into a temp folder and fails if the committed
// files differ, so the types can never drift from the proto.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const target = join(root, 'libs/embedder-proto/src/generated');
const check = process.argv.includes('--check');
const out = check ? mkdtempSync(join(tmpdir(), 'proto-gen-')) : target;
const bin = join(root, 'node_modules/.bin/proto-loader-gen-types');
execFileSync(
  bin,
  [
    'embedder.proto',
    'grpc/health/v1/health.proto',
    '--longs=String',
    '--enums=String',
    '--defaults',
    '--oneofs',
    '--grpcLib=@grpc/grpc-js',
    `--outDir=${out}`,
    '--includeComments',
    `--includeDirs=${join(root, 'proto')}`,
    '--importFileExtension=.js',
  ],
  { stdio: 'inherit' },
);

function files(dir) {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
}
// The generator stamps absolute paths; keep them relative so output is the same on every clone.
for (const f of files(out))
  writeFileSync(
    f,
    readFileSync(f, 'utf8').replaceAll(`Original file: ${join(root, 'proto')}/`, 'Original file: proto/'),
  );

if (check) {
  const a = files(out)
    .map((f) => relative(out, f))
    .sort();
  const b = files(target)
    .map((f) => relative(target, f))
    .sort();
  const differ =
    JSON.stringify(a) !== JSON.stringify(b) ||
    a.some((f) => readFileSync(join(out, f), 'utf8') !== readFileSync(join(target, f), 'utf8'));
  rmSync(out, { recursive: true, force: true });
  if (differ) {
    console.error('Generated proto types are out of date: run `npm run proto:gen` and commit the result.');
    process.exit(1);
  }
  console.log('proto types up to date');
}
