// Integration: each image's runtime as its Dockerfile lays it out, without a container engine.
// Real: the build stage's own commands (Nx build targets, the tool bundler), the runtime stage's
// COPY layout assembled in a folder (node_modules linked instead of `npm ci --omit=dev`), the CMD
// run as a process with the image's ENV, and the HEALTHCHECK command run against it until healthy.
// Real Redis at REDIS_URL (own queue prefix), real tiny ONNX models for the embedders.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { childEnv, deleteKeys, freePort, REPO_ROOT, testEnv, tinyModelDir, uniqueName } from '@image-search/testing';
import { execForm, parseDockerfile, stageEnv } from './dockerfile.js';

const prefix = uniqueName('images');
const scratch = mkdtempSync(join(tmpdir(), 'images-data-'));
const imagesRoot = join(REPO_ROOT, 'tmp');

/** Settings each app needs beyond its image's ENV to run on loopback in a test. */
async function runEnv(app: string): Promise<Record<string, string>> {
  const common = {
    REDIS_URL: testEnv.redisUrl,
    QUEUE_PREFIX: prefix,
    DATA_DIR: join(scratch, app),
    ASSET_ROOTS: scratch,
    LOG_LEVEL: 'warn',
  };
  if (app === 'gateway')
    return {
      ...common,
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_PORT: String(await freePort()),
      CLIP_EMBEDDER_URL: '127.0.0.1:1',
      SIGLIP_EMBEDDER_URL: '',
    };
  if (app === 'reembed-worker')
    return {
      ...common,
      WORKER_HEALTH_HOST: '127.0.0.1',
      WORKER_HEALTH_PORT: String(await freePort()),
      SIGLIP_EMBEDDER_URL: '127.0.0.1:1',
    };
  const family = app === 'clip-embedder' ? 'clip' : 'siglip';
  return {
    ...common,
    EMBEDDER_HOST: '127.0.0.1',
    EMBEDDER_PORT: String(await freePort()),
    METRICS_PORT: String(await freePort()),
    MODEL_DIR: await tinyModelDir(family),
    [`${family.toUpperCase()}_EMBEDDING_DIM`]: '0',
  };
}

function sh(cmd: string, cwd: string, env: Record<string, string>): void {
  const r = spawnSync('sh', ['-c', cmd], { cwd, env: childEnv(env), encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
}

async function until(
  what: string,
  check: () => boolean,
  timeoutMs: number,
  proc: ChildProcess,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (proc.exitCode !== null) throw new Error(`${what}: the app exited with ${proc.exitCode}:\n${output()}`);
    if (Date.now() > deadline) throw new Error(`${what}: not healthy after ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe('images: each runtime stage, assembled and run as its Dockerfile says (build stage commands, COPY layout, CMD, HEALTHCHECK)', () => {
  afterAll(async () => {
    const redis = new Redis(testEnv.redisUrl);
    await deleteKeys(redis, prefix);
    redis.disconnect();
    rmSync(scratch, { recursive: true, force: true });
  });

  it.each(['gateway', 'reembed-worker', 'clip-embedder', 'siglip-embedder'])(
    '%s: the image starts and its HEALTHCHECK passes',
    async (app) => {
      const { stages } = parseDockerfile(readFileSync(join(REPO_ROOT, 'apps', app, 'Dockerfile'), 'utf8'));
      const build = stages.find((s) => s.name === 'build')!;
      const runtime = stages[stages.length - 1]!;

      // The build stage's commands, in the repository (its WORKDIR /app holds the same files).
      for (const ins of build.instructions.filter((i) => i.op === 'RUN' && !/^npm ci\b/.test(i.args)))
        sh(ins.args, REPO_ROOT, stageEnv(build));

      // The runtime stage's files: COPY --from=build takes build outputs, plain COPY takes the context.
      mkdirSync(imagesRoot, { recursive: true });
      const image = mkdtempSync(join(imagesRoot, `image-${app}-`));
      try {
        for (const ins of runtime.instructions.filter((i) => i.op === 'COPY')) {
          const parts = ins.args.split(/\s+/);
          const fromBuild = parts[0]!.startsWith('--from=build');
          const [src, dest] = fromBuild
            ? [parts[1]!.replace(/^\/app\//, ''), parts[2]!]
            : [parts[0]!, parts[parts.length - 1]!];
          if (!fromBuild && /package(-lock)?\.json$|^\.npmrc$/.test(src)) continue; // manifests for npm ci: node_modules is linked below
          const target = join(image, dest);
          mkdirSync(dirname(target), { recursive: true });
          cpSync(join(REPO_ROOT, src), target, { recursive: true });
        }
        symlinkSync(join(REPO_ROOT, 'node_modules'), join(image, 'node_modules'));
        cpSync(join(REPO_ROOT, 'package.json'), join(image, 'package.json'));

        const env = { ...stageEnv(runtime), ...(await runEnv(app)) };
        const [cmd, ...args] = execForm(runtime.instructions.find((i) => i.op === 'CMD'));
        expect(cmd).toBe('node');
        const proc = spawn(process.execPath, args, {
          cwd: image,
          env: childEnv(env),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
        proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
        try {
          const [hcmd, ...hargs] = execForm(runtime.instructions.find((i) => i.op === 'HEALTHCHECK'));
          expect(hcmd).toBe('node');
          let last = '';
          await until(
            `${app} HEALTHCHECK`,
            () => {
              const r = spawnSync(process.execPath, hargs, {
                cwd: image,
                env: childEnv(env),
                encoding: 'utf8',
                timeout: 10_000,
              });
              last = `${r.stdout}${r.stderr}`;
              return r.status === 0;
            },
            60_000,
            proc,
            () => `${out}\nhealthcheck: ${last}`,
          );

          if (app === 'gateway') {
            // The search page comes from the folder the bundle resolves (dist/apps/public).
            const page = await fetch(`http://127.0.0.1:${env['GATEWAY_PORT']}/`);
            expect(page.status).toBe(200);
            expect(await page.text()).toContain('id="search-form"');
          }
          if (app.endsWith('-embedder')) {
            expect(last).toContain('SERVING');
            // The model fetcher the deploy/ init container runs from this image.
            const help = spawnSync(process.execPath, ['dist/tools/fetch-model.mjs', '--help'], {
              cwd: image,
              env: childEnv(env),
              encoding: 'utf8',
            });
            expect(help.status, help.stderr).toBe(0);
            expect(help.stdout).toContain('usage: npx nx run tools:fetch-model');
          }
        } finally {
          proc.kill('SIGTERM');
          const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
          await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once('exit', r)));
          clearTimeout(timer);
        }
      } finally {
        rmSync(image, { recursive: true, force: true });
      }
    },
    180_000,
  );
});
