// Workspace rules: lint really rejects what the module-boundary rules forbid (runs ESLint's API
// with the repository's own constraints on in-memory files placed inside real projects).
import { ESLint } from 'eslint';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@image-search/testing';

async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const nx = (await import('@nx/eslint-plugin')).default;
  const tseslint = (await import('typescript-eslint')).default;
  const { depConstraints } = (await import(join(REPO_ROOT, 'eslint.config.mjs'))) as { depConstraints: unknown[] };
  const eslint = new ESLint({
    cwd: REPO_ROOT,
    overrideConfigFile: true,
    overrideConfig: [
      {
        files: ['**/*.ts'],
        languageOptions: { parser: tseslint.parser },
        plugins: { '@nx': nx as unknown as ESLint.Plugin },
        rules: { '@nx/enforce-module-boundaries': ['error', { depConstraints, enforceBuildableLibDependency: false }] },
      },
    ],
  });
  const [result] = await eslint.lintText(code, { filePath: join(REPO_ROOT, filePath) });
  return (result?.messages ?? []).map((m) => m.message);
}

describe('module boundaries', () => {
  it('rejects an app importing another app', async () => {
    const errors = await boundaryErrors('apps/gateway/src/probe.ts', "import '@image-search/clip-embedder';\n");
    expect(errors.join('\n')).toMatch(/Imports of apps are forbidden|type:app/);
  });

  it('rejects onnxruntime-node outside the embedding lib and embedder apps', async () => {
    expect((await boundaryErrors('apps/gateway/src/probe.ts', "import 'onnxruntime-node';\n")).join('\n')).toMatch(
      /onnxruntime-node/,
    );
    expect((await boundaryErrors('libs/vector-store/src/probe.ts', "import 'onnxruntime-node';\n")).join('\n')).toMatch(
      /onnxruntime-node/,
    );
    expect(await boundaryErrors('libs/embedding/src/probe.ts', "import 'onnxruntime-node';\n")).toEqual([]);
  });

  it('rejects express outside the gateway app', async () => {
    expect((await boundaryErrors('libs/rollout-router/src/probe.ts', "import 'express';\n")).join('\n')).toMatch(
      /express/,
    );
    expect((await boundaryErrors('apps/reembed-worker/src/probe.ts', "import 'express';\n")).join('\n')).toMatch(
      /express/,
    );
    expect(await boundaryErrors('apps/gateway/src/probe.ts', "import 'express';\n")).toEqual([]);
  });

  it('rejects a lib importing an app', async () => {
    expect(
      (await boundaryErrors('libs/jobs/src/probe.ts', "import '@image-search/gateway';\n")).length,
    ).toBeGreaterThan(0);
  });
});

describe('workspace settings', () => {
  it('never connects to Nx Cloud and pins Nx 23', () => {
    const nxJson = JSON.parse(readFileSync(join(REPO_ROOT, 'nx.json'), 'utf8')) as Record<string, unknown>;
    expect(nxJson['neverConnectToCloud']).toBe(true);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    for (const [name, version] of Object.entries(pkg.devDependencies))
      if (name === 'nx' || name.startsWith('@nx/')) expect(version).toMatch(/^23\./);
  });

  it("denies onnxruntime-node's install script (its CUDA download) in allowScripts, not with a custom .npmrc key", () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      allowScripts?: Record<string, boolean>;
    };
    expect(pkg.allowScripts?.['onnxruntime-node']).toBe(false);
    // npm 11 warns about keys it does not know, and npm 12 drops them.
    const keys = readFileSync(join(REPO_ROOT, '.npmrc'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'))
      .map((l) => l.split('=')[0]!.trim());
    expect(keys.filter((k) => k.startsWith('onnxruntime'))).toEqual([]);
  });
});
