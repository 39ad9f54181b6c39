// A third model added by configuration alone and migrated to with the same commands, everything real:
// `npm start` (tools/scripts/start.mjs) with the demo models plus a registry file (deploy/demo/third-model.yaml
// with a free port) naming a third demo model that npm start builds and serves; real embedder processes,
// worker, gateway, the embedded store and catalogue, Redis at REDIS_URL under a unique prefix. The tools run
// as real CLI processes with the stack's settings: reembed CLIP -> colour-v3, verify, retire CLIP, and the
// search is answered by colour-v3; drop is refused during the grace period.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  stackReady,
  startStack,
  startTsProcess,
  uniqueName,
  waitFor,
  type Stack,
  tearDownStackRun,
} from '@image-search/testing';
import { writeSampleImages } from './sample-images/sample-images.js';

const CLIP = 'clip-vit-b32-openai';

describe('a third model by configuration alone, migrated to under npm start (everything real)', () => {
  const prefix = uniqueName('third');
  const tmp = mkdtempSync(join(tmpdir(), 'third-model-'));
  const token = 'third-admin-token';
  const auth = { authorization: `Bearer ${token}` };
  let stack: Stack;
  let base: string;
  let env: Record<string, string>;

  /** Runs a tools CLI with the running stack's settings (DATA_DIR/stack.env); exit code and output. */
  const tool = async (script: string, args: string[]) => {
    // tools:reembed follows a run polling every 200 ms instead of every second.
    const p = startTsProcess(`tools/src/${script}`, { ...env, LOG_LEVEL: 'warn', REEMBED_POLL_MS: '200' }, args);
    const code = await Promise.race([p.exited, new Promise((r) => setTimeout(() => r('timeout'), 240_000))]);
    if (code === 'timeout') await p.stop('SIGKILL');
    return { code, out: p.output() };
  };
  const search = async (query: string) =>
    (await (
      await fetch(`${base}/api/v1/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, limit: 3 }),
      })
    ).json()) as { model: string; results: { asset: { path: string } }[] };

  beforeAll(async () => {
    const sampleDir = join(tmp, 'samples');
    await writeSampleImages(sampleDir);
    // The shipped example, on a free port (tests never use fixed ports).
    const file = join(tmp, 'models.yaml');
    const port = await freePort();
    writeFileSync(
      file,
      readFileSync(join(import.meta.dirname, '../../deploy/demo/third-model.yaml'), 'utf8').replace(
        '127.0.0.1:50053',
        `127.0.0.1:${port}`,
      ),
    );
    stack = startStack({
      DATA_DIR: join(tmp, 'data'),
      SAMPLE_DIR: sampleDir,
      DEMO_MODELS_DIR: join(tmp, 'demo-models'),
      ADMIN_TOKEN: token,
      QUEUE_PREFIX: prefix,
      MODEL_REGISTRY_FILE: file,
    });
    base = await stackReady(stack);
    env = Object.fromEntries(
      readFileSync(join(tmp, 'data', 'stack.env'), 'utf8')
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => {
          const i = l.indexOf('=');
          return [l.slice(0, i), l.slice(i + 1).replace(/^'(.*)'$/, '$1')];
        }),
    );
    expect(env['MODEL_REGISTRY_FILE']).toBe(file);
  }, 400_000);

  afterAll(async () => {
    await tearDownStackRun(stack, prefix, tmp);
  });

  it('npm start serves the registry file model next to the seed pair', async () => {
    expect(stack.output()).toMatch(/registry model colour-v3: served from .* \(48 dims\)/);
    const models = (await (await fetch(`${base}/api/v1/admin/models`, { headers: auth })).json()) as {
      models: { id: string; origin: string; embedder_status: string; fingerprint: string | null }[];
    };
    const third = models.models.find((m) => m.id === 'colour-v3');
    expect(third).toMatchObject({ origin: 'file', embedder_status: 'serving' });
    const siglip = models.models.find((m) => m.id.startsWith('siglip-'));
    expect(third!.fingerprint).not.toBe(siglip!.fingerprint);
  });

  it('migrates CLIP -> colour-v3 with tools:reembed, verifies with tools:verify, retires CLIP with tools:models', async () => {
    const run = await tool('reembed.cli.ts', ['start', '--from', CLIP, '--to', 'colour-v3', '--batch-size', '8']);
    expect(run.out, run.out).toMatch(/run: completed, verification passed/);
    expect(run.code).toBe(0);
    const verify = await tool('verify-catalogue.cli.ts', ['--model', 'colour-v3']);
    expect(verify.out).toMatch(
      /^ok +colour-v3 \(image_assets_colour_v3\): 39 vectors, catalogue 39, coverage 100\.0%/m,
    );
    expect(verify.code).toBe(0);
    // CLIP is still served (the rollout flags are at 0 %): retire it, and colour-v3 serves everyone.
    expect((await search('red')).model).toBe(CLIP);
    const retire = await tool('models.cli.ts', ['retire', '--model', CLIP]);
    expect(retire.out, retire.out).toMatch(/retired clip-vit-b32-openai: colour-v3 serves everyone now/);
    expect(retire.code).toBe(0);
    await waitFor('colour-v3 to answer', async () => (await search('red')).model === 'colour-v3', 20_000, 250);
    const after = await search('red');
    expect(after.results.map((r) => r.asset.path.split('/').pop()!.split('-')[0])).toEqual(['red', 'red', 'red']);
    // Three tools that change nothing here (a status and two refusals), run at once: each process start
    // takes seconds on a loaded machine.
    const [status, drop, next] = await Promise.all([
      tool('models.cli.ts', ['status']),
      tool('models.cli.ts', ['drop', '--model', CLIP]),
      // The next migration starts from the new model.
      tool('reembed.cli.ts', ['start', '--detach']),
    ]);
    expect(status.out).toMatch(/serving: colour-v3 \(image_assets_colour_v3\), nothing being migrated to/);
    expect(status.out).toMatch(/retired: clip-vit-b32-openai \(image_assets\) replaced by colour-v3/);
    expect(drop.code).toBe(1);
    expect(drop.out).toMatch(/is in its grace period until/);
    expect(next.code).toBe(1);
    expect(next.out).toMatch(/'colour-v3' serves alone .* pass --to MODEL/);
  }, 400_000);
});
