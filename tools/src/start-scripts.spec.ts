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
  state: string;
  restarts: number;
  exitCode: number | null;
  signal: string | null;
  exited: Promise<number>;
}
interface SupervisorLike {
  start(
    name: string,
    entry: string,
    opts?: { env?: Record<string, string>; args?: string[]; ready?: () => Promise<boolean> },
  ): SupervisedService;
  supervise(policy: Record<string, unknown>): void;
  stateLine(): string;
  restartFailed(): SupervisedService[];
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
    onGiveUp?: (svc: SupervisedService) => void;
    onStateChange?: (svc: SupervisedService) => void;
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

  it('once supervising, restarts a SIGKILLed service with backoff while the others keep running; a crash loop stops only that service with its last lines and what to do; exit code 2 is not retried', async () => {
    const out: string[] = [];
    const states: string[] = [];
    const gaveUp: string[] = [];
    const sup = new supMod.Supervisor({
      write: (s) => out.push(s),
      onGiveUp: (svc) => gaveUp.push(svc.name),
      onStateChange: (svc) => states.push(`${svc.name}:${svc.state}`),
    });
    const serve = join(dir, 'serve2.ts');
    writeFileSync(
      serve,
      "console.log('serving ' + process.pid);\nprocess.on('SIGTERM', () => process.exit(0));\nsetInterval(() => {}, 1000);\n",
    );
    const flaky = join(dir, 'flaky.ts');
    writeFileSync(flaky, "console.error('fatal: cannot open model.onnx');\nsetTimeout(() => process.exit(1), 100);\n");
    const badConfig = join(dir, 'bad-config.ts');
    writeFileSync(badConfig, "console.error('PORT: expected a number');\nsetTimeout(() => process.exit(2), 300);\n");
    const a = sup.start('svc-a', serve);
    const other = sup.start('svc-other', serve);
    const wait = async (what: string, ok: () => boolean) => {
      for (let i = 0; i < 300 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
      expect(ok(), `${what}:\n${out.join('')}`).toBe(true);
    };
    await wait('both serving', () => out.join('').split('serving').length === 3);
    sup.supervise({ baseMs: 200, maxMs: 1000, maxCrashes: 3, windowMs: 60_000 });
    const firstPid = a.pid;
    const otherPid = other.pid;
    process.kill(firstPid, 'SIGKILL');
    await wait('svc-a back up', () => a.state === 'up' && a.pid !== firstPid);
    expect(a.restarts).toBe(1);
    expect(other.pid).toBe(otherPid);
    expect(() => process.kill(otherPid, 0)).not.toThrow();
    const text = out.join('');
    expect(text).toMatch(
      /svc-a exited unexpectedly with signal SIGKILL \(killed from outside: the kernel's out-of-memory killer, or kill -9\); restarting it in 0\.\d s \(crash 1 of 3 allowed within 60 s\); the other services keep serving/,
    );
    expect(text).toMatch(/svc-a is serving again \(restart 1, pid \d+, down \d+\.\d s\)/);
    expect(states).toEqual(['svc-a:restarting', 'svc-a:starting', 'svc-a:up']);

    const f = sup.start('svc-flaky', flaky);
    await wait('crash loop detected', () => f.state === 'failed');
    expect(gaveUp).toEqual(['svc-flaky']);
    expect(f.restarts).toBe(2);
    const loop = out.join('');
    expect(loop).toMatch(/restarting it in 0\.\d s \(crash 1 of 3/);
    expect(loop).toMatch(/restarting it in 0\.[3-5]\d* s \(crash 2 of 3/); // doubled, ±20 %
    expect(loop).toMatch(
      /svc-flaky crashed 3 times within 60 s \(last: exit code 1\): a crash loop\. Not restarting it again/,
    );
    expect(loop).toMatch(/svc-flaky's last \d+ log lines:\n.*\| {3}fatal: cannot open model\.onnx/);
    expect(loop).toMatch(/What to do: .*kill -USR2 \d+/);
    expect(sup.stateLine()).toMatch(/svc-a up \(pid \d+, restarted 1×\), svc-other up \(pid \d+\), svc-flaky failed/);
    expect(() => process.kill(a.pid, 0)).not.toThrow();

    const b = sup.start('svc-bad', badConfig);
    await wait('config error not retried', () => b.state === 'failed');
    expect(b.restarts).toBe(0);
    expect(out.join('')).toMatch(
      /svc-bad exited with exit code 2: it refused its configuration, which a restart cannot fix/,
    );

    // SIGUSR2's action: the stopped services start again (and crash again here).
    expect(sup.restartFailed().map((s) => s.name)).toEqual(['svc-flaky', 'svc-bad']);
    expect(await sup.stop(['svc-a', 'svc-other', 'svc-flaky', 'svc-bad'], 5000)).toBeDefined();
    for (const s of [a, other, f, b]) expect(() => process.kill(s.pid, 0)).toThrow();
  });
});
