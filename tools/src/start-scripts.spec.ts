// `npm start`'s building blocks (tools/scripts/start-*.mjs): settings, log formatting, model
// detection and the supervisor, with real child processes. The whole command runs in system.e2e.spec.ts.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@image-search/testing';

interface StartConfig {
  ports: Record<string, number>;
  models: string;
  sampleDir?: string;
  generateSamples: boolean;
  dataDir?: string;
  color: boolean;
  createSiglipCollection: boolean;
}
interface SupervisedService {
  name: string;
  pid: number;
  exitCode: number | null;
  signal: string | null;
  exited: Promise<number>;
}
interface SupervisorLike {
  start(name: string, entry: string, opts?: { env?: Record<string, string>; args?: string[] }): SupervisedService;
  run(name: string, entry: string, opts?: { env?: Record<string, string>; args?: string[] }): Promise<number>;
  stop(names: string[], graceMs?: number): Promise<SupervisedService[]>;
}

const configMod = (await import(join(REPO_ROOT, 'tools/scripts/start-config.mjs'))) as {
  readStartConfig: (env: Record<string, string | undefined>) => StartConfig;
};
const supMod = (await import(join(REPO_ROOT, 'tools/scripts/start-supervisor.mjs'))) as {
  prettyLine: (line: string, color?: boolean) => string;
  Supervisor: new (opts: {
    write: (s: string) => void;
    onUnexpectedExit?: (svc: SupervisedService, code: number | null, signal: string | null) => void;
  }) => SupervisorLike;
};
const modelsMod = (await import(join(REPO_ROOT, 'tools/scripts/start-models.mjs'))) as {
  looksLikeModel: (dir: string) => boolean;
  realModelDir: (m: { name: string; pretrained: string; dir?: string }, modelsDir: string) => string;
};

describe('start settings', () => {
  it('has defaults that work on a fresh clone', () => {
    const c = configMod.readStartConfig({});
    expect(c.ports).toEqual({
      GATEWAY_PORT: 8000,
      CLIP_EMBEDDER_PORT: 50051,
      SIGLIP_EMBEDDER_PORT: 50052,
      CLIP_METRICS_PORT: 9464,
      SIGLIP_METRICS_PORT: 9465,
      WORKER_HEALTH_PORT: 9470,
    });
    expect(c.models).toBe('auto');
    expect(c.sampleDir).toBe(join(REPO_ROOT, 'data/sample-images'));
    expect(c.generateSamples).toBe(true);
    expect(c.dataDir).toBeUndefined();
    expect(c.createSiglipCollection).toBe(true);
  });

  it('resolves paths against the repository and honours SAMPLE_DIR=none', () => {
    const c = configMod.readStartConfig({ SAMPLE_DIR: 'none', DATA_DIR: 'data/x', GATEWAY_PORT: '0', NO_COLOR: '1' });
    expect(c.sampleDir).toBeUndefined();
    expect(c.dataDir).toBe(join(REPO_ROOT, 'data/x'));
    expect(c.ports['GATEWAY_PORT']).toBe(0);
    expect(c.color).toBe(false);
  });

  it.each([
    [{ GATEWAY_PORT: '80a' }, /GATEWAY_PORT must be a TCP port .* got "80a"/],
    [{ SIGLIP_EMBEDDER_PORT: '70000' }, /SIGLIP_EMBEDDER_PORT must be a TCP port/],
    [{ MODELS: 'large' }, /MODELS must be one of auto, real, demo, got "large"/],
    [{ CREATE_SIGLIP_COLLECTION: 'maybe' }, /CREATE_SIGLIP_COLLECTION must be true or false/],
    [{ START_TIMEOUT_S: 'soon' }, /START_TIMEOUT_S must be a number of seconds/],
  ])('refuses %j naming the variable', (env, message) => {
    expect(() => configMod.readStartConfig(env)).toThrow(message);
  });
});

describe('log lines', () => {
  it('makes pino JSON readable and leaves other text alone', () => {
    const line = JSON.stringify({
      level: 30,
      time: '2026-11-24T02:51:31.756Z',
      service: 'gateway',
      pid: 1,
      hostname: 'h',
      msg: 'gateway listening',
      url: 'http://127.0.0.1:8000',
      flags: { useSiglip: false },
    });
    expect(supMod.prettyLine(line)).toBe(
      '02:51:31.756 INFO  gateway listening  url=http://127.0.0.1:8000 flags={"useSiglip":false}',
    );
    const err = JSON.stringify({
      level: 60,
      time: '2026-11-24T02:51:31.756Z',
      msg: 'could not start',
      err: { message: 'model folder not found', stack: 'AppError: model folder not found\n    at x' },
    });
    expect(supMod.prettyLine(err)).toBe(
      '02:51:31.756 FATAL could not start  err="model folder not found"\nAppError: model folder not found\n    at x',
    );
    expect(supMod.prettyLine('✓ Collection created')).toBe('✓ Collection created');
    expect(supMod.prettyLine('{not json')).toBe('{not json');
  });
});

describe('model detection', () => {
  const dir = mkdtempSync(join(tmpdir(), 'start-models-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds NAME__PRETRAINED folders in either layout, and nothing in a partial one', () => {
    expect(modelsMod.realModelDir({ name: 'ViT-B-32', pretrained: 'openai' }, dir)).toBe(join(dir, 'ViT-B-32__openai'));
    const hf = join(dir, 'hf');
    mkdirSync(join(hf, 'onnx'), { recursive: true });
    writeFileSync(join(hf, 'config.json'), '{}');
    writeFileSync(join(hf, 'onnx/vision_model_fp16.onnx'), '');
    expect(modelsMod.looksLikeModel(hf)).toBe(false);
    writeFileSync(join(hf, 'onnx/text_model_fp16.onnx'), '');
    expect(modelsMod.looksLikeModel(hf)).toBe(true);
    const immich = join(dir, 'immich');
    for (const f of ['visual/model.onnx', 'textual/model.onnx']) {
      mkdirSync(join(immich, f, '..'), { recursive: true });
      writeFileSync(join(immich, f), '');
    }
    expect(modelsMod.looksLikeModel(immich)).toBe(false);
    writeFileSync(join(immich, 'config.json'), '{}');
    expect(modelsMod.looksLikeModel(immich)).toBe(true);
  });
});

describe('supervisor (real child processes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'start-sup-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prefixes every line with the service name, stops services with SIGTERM, and reports one that dies by itself', async () => {
    const out: string[] = [];
    const unexpected: string[] = [];
    const sup = new supMod.Supervisor({
      write: (s) => out.push(s),
      onUnexpectedExit: (svc, code) => unexpected.push(`${svc.name}:${code}`),
    });
    const serve = join(dir, 'serve.ts');
    writeFileSync(
      serve,
      "console.log(JSON.stringify({ level: 30, time: new Date().toISOString(), msg: 'up' }));\nprocess.on('SIGTERM', () => { console.log('bye'); process.exit(0); });\nsetInterval(() => {}, 1000);\n",
    );
    const crash = join(dir, 'crash.ts');
    writeFileSync(crash, "console.error('boom');\nsetTimeout(() => process.exit(3), 200);\n");
    const a = sup.start('svc-a', serve);
    const b = sup.start('svc-b', crash);
    expect(await b.exited).toBe(3);
    await new Promise((r) => setTimeout(r, 50));
    expect(unexpected).toEqual(['svc-b:3']);
    for (let i = 0; i < 100 && !out.join('').includes('up'); i++) await new Promise((r) => setTimeout(r, 100));
    const unclean = await sup.stop(['svc-a', 'svc-b'], 5000);
    expect(a.exitCode).toBe(0);
    expect(unclean.map((s) => s.name)).toEqual(['svc-b']);
    expect(unexpected).toEqual(['svc-b:3']);
    const text = out.join('');
    expect(text).toMatch(/^svc-a {11}\| \d\d:\d\d:\d\d\.\d{3} INFO {2}up$/m);
    expect(text).toMatch(/^svc-a {11}\| bye$/m);
    expect(text).toMatch(/^svc-b {11}\| boom$/m);
    expect(() => process.kill(a.pid, 0)).toThrow();
    expect(await sup.run('tool', crash)).toBe(3);
  });
});
