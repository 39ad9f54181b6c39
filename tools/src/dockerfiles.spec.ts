// Container images: no container engine runs here, so this checks statically what `docker build`
// would trip over: every COPY source exists and survives .dockerignore, every script, stage and
// Nx target a Dockerfile names exists, base images are pinned, the runtime stage is non-root with
// production dependencies only, and a HEALTHCHECK is there. It also really bundles the tool the
// embedder image ships (fetch-model) with the image's own build script and runs it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@image-search/testing';
import { dockerIgnored, parseDockerfile, stageEnv } from './dockerfile.js';

const IGNORE = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const APPS = readdirSync(join(REPO_ROOT, 'apps'));
const DOCKERFILES = APPS.flatMap((app) =>
  readdirSync(join(REPO_ROOT, 'apps', app))
    .filter((f) => /^Dockerfile(\..+)?$/.test(f))
    .map((f) => ({ app, file: `apps/${app}/${f}` })),
);
const WORKSPACES = (
  JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }
).workspaces.flatMap((w) =>
  w.endsWith('/*')
    ? readdirSync(join(REPO_ROOT, w.slice(0, -2)))
        .map((d) => `${w.slice(0, -2)}/${d}`)
        .filter((d) => existsSync(join(REPO_ROOT, d, 'package.json')))
    : [w],
);

/** Files a COPY of `src` brings in, after .dockerignore (a folder: every file below it). */
function copiedFiles(src: string): string[] {
  const abs = join(REPO_ROOT, src);
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = join(dir, e.name);
      const rel = relative(REPO_ROOT, p);
      if (dockerIgnored(IGNORE, rel)) return [];
      return e.isDirectory() ? walk(p) : [rel];
    });
  if (dockerIgnored(IGNORE, src)) return [];
  return statSync(abs).isDirectory() ? walk(abs) : [src];
}

describe('.dockerignore', () => {
  it.each([
    'node_modules/x/index.js',
    'apps/gateway/node_modules/.bin/x',
    'libs/embedding/node_modules/a',
    '.git/HEAD',
    'data/lancedb/x',
    'models/ViT-B-32__openai/onnx/a.onnx',
    'dist/apps/gateway/main.mjs',
    '.env',
    'test-output/x.png',
    'deploy/base/kustomization.yaml',
    '.nx/cache/x',
    'tmp/x',
    'apps/gateway/src/main.spec.ts',
  ])('keeps %s out of the build context', (p) => expect(dockerIgnored(IGNORE, p)).toBe(true));
  it.each([
    'package.json',
    'package-lock.json',
    '.npmrc',
    'tsconfig.base.json',
    'nx.json',
    'proto/embedder.proto',
    'proto/grpc/health/v1/health.proto',
    'libs/service-kit/src/index.ts',
    'apps/gateway/src/main.ts',
    'tools/scripts/build-app.mjs',
    'tools/src/fetch-model.cli.ts',
    'deploy/docker/grpc-health.mjs',
  ])('keeps %s in the build context', (p) => expect(dockerIgnored(IGNORE, p)).toBe(false));
  it('the matcher follows Docker semantics (exceptions, last rule wins, ** and parents)', () => {
    expect(dockerIgnored(['deploy/*', '!deploy/docker'], 'deploy/docker/a.mjs')).toBe(false);
    expect(dockerIgnored(['!deploy/docker', 'deploy/*'], 'deploy/docker/a.mjs')).toBe(true);
    expect(dockerIgnored(['**/*.onnx'], 'a/b/c.onnx')).toBe(true);
    expect(dockerIgnored(['**/*.onnx'], 'c.onnx')).toBe(true);
    expect(dockerIgnored(['data'], 'libs/data/x')).toBe(false);
  });
});

describe('Dockerfiles', () => {
  it('every app has a Dockerfile, and each embedder a CUDA variant', () => {
    for (const app of APPS) expect(existsSync(join(REPO_ROOT, 'apps', app, 'Dockerfile')), app).toBe(true);
    for (const app of APPS.filter((a) => a.endsWith('-embedder')))
      expect(existsSync(join(REPO_ROOT, 'apps', app, 'Dockerfile.cuda')), app).toBe(true);
  });

  describe.each(DOCKERFILES)('$file', ({ app, file }) => {
    const { stages } = parseDockerfile(readFileSync(join(REPO_ROOT, file), 'utf8'));
    const stageNames = new Set(stages.map((s) => s.name).filter(Boolean));
    const final = stages[stages.length - 1]!;
    const build = stages.find((s) => s.name === 'build')!;

    it('is multi-stage with pinned base images', () => {
      expect(stages.length).toBeGreaterThanOrEqual(2);
      expect(build).toBeDefined();
      for (const s of stages) {
        if (stageNames.has(s.image)) continue;
        expect(s.image, 'base image').toMatch(/@sha256:[0-9a-f]{64}$|:[\w.-]*\d+\.\d+[\w.-]*$/);
        expect(s.image).not.toMatch(/:latest$/);
      }
    });

    it('copies only files that exist and that .dockerignore lets through', () => {
      for (const s of stages)
        for (const ins of s.instructions.filter((i) => i.op === 'COPY' || i.op === 'ADD')) {
          if (ins.args.includes('--from=')) continue;
          const parts = ins.args.split(/\s+/).filter((a) => !a.startsWith('--'));
          for (const src of parts.slice(0, -1)) {
            expect(existsSync(join(REPO_ROOT, src)), `${ins.op} ${src}: not in the repository`).toBe(true);
            expect(copiedFiles(src).length, `${ins.op} ${src}: excluded by .dockerignore`).toBeGreaterThan(0);
          }
        }
    });

    it('installs every workspace manifest before npm ci (npm ci needs them all)', () => {
      for (const s of [build, final]) {
        const copied = s.instructions.filter((i) => i.op === 'COPY').map((i) => i.args.split(/\s+/)[0]);
        for (const ws of WORKSPACES) expect(copied, `${s.name}: ${ws}/package.json`).toContain(`${ws}/package.json`);
        const ciAt = s.instructions.findIndex((i) => i.op === 'RUN' && /npm ci/.test(i.args));
        const lastManifest = s.instructions.map((i) => i.args).findLastIndex((a) => /package\.json/.test(a));
        expect(ciAt).toBeGreaterThan(lastManifest);
      }
    });

    it('builds the app with its Nx build target and ships that bundle', () => {
      const nxRuns = build.instructions
        .filter((i) => i.op === 'RUN')
        .flatMap((i) => [...i.args.matchAll(/nx run ([\w-]+):([\w-]+)/g)]);
      expect(nxRuns.map((m) => `${m[1]}:${m[2]}`)).toContain(`${app}:build`);
      for (const m of nxRuns) {
        const project = JSON.parse(readFileSync(join(REPO_ROOT, 'apps', m[1]!, 'project.json'), 'utf8')) as {
          targets: Record<string, unknown>;
        };
        expect(Object.keys(project.targets), `${m[1]} targets`).toContain(m[2]);
      }
      expect(
        final.instructions.some((i) => i.op === 'COPY' && i.args.startsWith(`--from=build /app/dist/apps/${app} `)),
      ).toBe(true);
      expect(final.instructions.find((i) => i.op === 'CMD')?.args).toContain(`dist/apps/${app}/main.mjs`);
      // build-app.mjs writes dist/<projectRoot>/main.mjs, which is what the image copies and runs.
      expect(readFileSync(join(REPO_ROOT, 'tools/scripts/build-app.mjs'), 'utf8')).toContain(
        "join(root, 'dist', projectRoot, 'main.mjs')",
      );
    });

    it('scripts the image runs exist and are copied into the stage that runs them', () => {
      for (const s of stages) {
        const copiedDirs = s.instructions
          .filter((i) => i.op === 'COPY' && !i.args.includes('--from='))
          .map((i) => i.args.split(/\s+/)[0]!);
        const fromBuild = s.instructions
          .filter((i) => i.op === 'COPY' && i.args.includes('--from='))
          .map((i) => i.args.split(/\s+/)[2]!);
        for (const ins of s.instructions.filter((i) => ['RUN', 'CMD', 'HEALTHCHECK'].includes(i.op))) {
          for (const m of ins.args.matchAll(/(?:^|[\s"[])((?:deploy|tools|apps|dist)\/[\w./-]+\.(?:mjs|js|ts))/g)) {
            const script = m[1]!;
            if (script.startsWith('dist/')) {
              expect(
                fromBuild.some((d) => script.startsWith(d)) || s === build,
                `${s.name}: ${script} is produced by the build stage and copied`,
              ).toBe(true);
              continue;
            }
            expect(existsSync(join(REPO_ROOT, script)), `${script} exists`).toBe(true);
            expect(
              copiedDirs.some((d) => script === d || script.startsWith(`${d}/`)),
              `${s.name}: ${script} copied before use`,
            ).toBe(true);
          }
        }
      }
    });

    it("skips onnxruntime-node's CUDA download in every npm ci (the image's npm predates allowScripts)", () => {
      for (const s of [build, final]) expect(stageEnv(s)['ONNXRUNTIME_NODE_INSTALL'], s.name).toBe('skip');
    });

    it('runtime stage: production dependencies only, non-root user, a HEALTHCHECK', () => {
      expect(final.instructions.some((i) => i.op === 'RUN' && /npm ci\b.*--omit=dev/.test(i.args))).toBe(true);
      const user = final.instructions.filter((i) => i.op === 'USER').pop()?.args ?? 'root';
      expect(user).not.toMatch(/^(root|0)(:|$)/);
      expect(user).toMatch(/^\d+(:\d+)?$/); // numeric, so Kubernetes runAsNonRoot can verify it
      expect(final.instructions.find((i) => i.op === 'HEALTHCHECK')?.args).toMatch(/CMD/);
      expect(final.instructions.map((i) => i.op).lastIndexOf('USER')).toBeLessThan(
        final.instructions.map((i) => i.op).indexOf('CMD'),
      );
    });

    it.runIf(file.endsWith('.cuda'))('installs onnxruntime-node with the CUDA 12 provider at build time', () => {
      expect(final.image).toMatch(/^nvidia\/cuda:12\.[\d.]+-cudnn-runtime/);
      expect(
        final.instructions.some(
          (i) =>
            i.op === 'RUN' &&
            i.args.includes('ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js'),
        ),
      ).toBe(true);
    });
  });

  it('the fetch-model bundle an embedder image ships builds with the image script and runs', () => {
    // Inside the repository (tmp/ is git- and docker-ignored): ESM resolves packages from the bundle's folder.
    mkdirSync(join(REPO_ROOT, 'tmp'), { recursive: true });
    const out = mkdtempSync(join(REPO_ROOT, 'tmp', 'tool-bundle-'));
    try {
      const outfile = relative(REPO_ROOT, join(out, 'fetch-model.mjs'));
      const b = spawnSync(process.execPath, ['deploy/docker/build-tool.mjs', 'tools/src/fetch-model.cli.ts', outfile], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      });
      expect(b.status, b.stderr).toBe(0);
      const r = spawnSync(process.execPath, [join(out, 'fetch-model.mjs'), '--help'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/fetch-model/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
