// The README documents every environment variable the services read: each key of every
// config schema (apps/*/src/config.ts, the embedder schema, tools' config modules) must appear
// in README.md as `NAME`.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@image-search/testing';

function schemaKeys(file: string): string[] {
  const src = readFileSync(join(REPO_ROOT, file), 'utf8');
  return [...src.matchAll(/^\s+([A-Z][A-Z0-9_]+):\s*(?:env\.|z\.|device\(\))/gm)].map((m) => m[1] ?? '');
}

describe('README configuration reference', () => {
  const files = [
    ...readdirSync(join(REPO_ROOT, 'apps')).map((a) => `apps/${a}/src/config.ts`),
    'libs/embedder-server/src/embedder.config.ts',
    ...readdirSync(join(REPO_ROOT, 'tools/src'))
      .filter((f) => f.endsWith('.config.ts') || f.endsWith('.cli.ts'))
      .map((f) => `tools/src/${f}`),
  ];
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  // The embedder apps' config.ts only delegate to the shared embedder schema.
  const withKeys = files.filter((f) => schemaKeys(f).length > 0);

  it('finds the schemas', () => {
    expect(withKeys.length).toBeGreaterThanOrEqual(4);
  });

  it.each(withKeys)('documents every variable of %s', (file) => {
    const keys = schemaKeys(file);
    const missing = keys.filter((k) => !readme.includes(`\`${k}\``));
    expect(missing).toEqual([]);
  });

  it('names the two commands and links the docs', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm ci && npm test');
    for (const doc of ['docs/architecture.md', 'docs/runbook.md', 'docs/benchmarks.md']) expect(readme).toContain(doc);
  });

  it('has a CI script that runs exactly the README test command', () => {
    const ci = readFileSync(join(REPO_ROOT, '.ci/run'), 'utf8');
    expect(ci).toMatch(/^npm ci && npm test$/m);
  });

  it('has a CI script that installs the browser the README names, under CI=true', () => {
    const ci = readFileSync(join(REPO_ROOT, '.ci/run'), 'utf8');
    expect(readme).toContain('`apt-get install chromium`');
    expect(ci).toMatch(/apt-get install -y -qq chromium/);
    expect(ci).toMatch(/^export CI="\$\{CI:-true\}"$/m);
  });
});
