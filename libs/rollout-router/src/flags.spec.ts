import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CoverageMonitor } from './coverage-monitor.js';
import { DEFAULT_FLAGS, FlagError, parseFlagsFile, readFlags } from './flags.js';
import { FlagsSource } from './flags-source.js';

const dir = mkdtempSync(join(tmpdir(), 'flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('flags', () => {
  it('reads the environment and names a bad variable', () => {
    expect(readFlags({ USE_SIGLIP: 'TRUE', SIGLIP_ROLLOUT_PERCENTAGE: '12.5' }, DEFAULT_FLAGS, 'env').flags).toEqual({
      useSiglip: true,
      percentage: 12.5,
      minCoverage: 1,
    });
    expect(() => readFlags({ SIGLIP_ROLLOUT_PERCENTAGE: '150' }, DEFAULT_FLAGS, 'env')).toThrow(
      /SIGLIP_ROLLOUT_PERCENTAGE: expected a number between 0 and 100/,
    );
    expect(() => readFlags({ SIGLIP_ROLLOUT_PERCENTAGE: 'ten' }, DEFAULT_FLAGS, 'env')).toThrow(FlagError);
    expect(() => readFlags({ SIGLIP_ROLLOUT_PERCENTAGE: '-1' }, DEFAULT_FLAGS, 'env')).toThrow(
      /SIGLIP_ROLLOUT_PERCENTAGE/,
    );
    expect(() => readFlags({ USE_SIGLIP: 'maybe' }, DEFAULT_FLAGS, 'env')).toThrow(
      /USE_SIGLIP: expected true or false/,
    );
    expect(() => readFlags({ SIGLIP_MIN_COVERAGE: '1.5' }, DEFAULT_FLAGS, 'env')).toThrow(/SIGLIP_MIN_COVERAGE/);
  });
  it('parses YAML, JSON and KEY=value files and refuses unknown keys', () => {
    expect(parseFlagsFile('SIGLIP_ROLLOUT_PERCENTAGE: 25\nUSE_SIGLIP: false\n')).toEqual({
      SIGLIP_ROLLOUT_PERCENTAGE: 25,
      USE_SIGLIP: false,
    });
    expect(parseFlagsFile('{"SIGLIP_ROLLOUT_PERCENTAGE": 30}')).toEqual({ SIGLIP_ROLLOUT_PERCENTAGE: 30 });
    expect(parseFlagsFile('# configmap\nSIGLIP_ROLLOUT_PERCENTAGE=40\nUSE_SIGLIP="true"\n')).toEqual({
      SIGLIP_ROLLOUT_PERCENTAGE: '40',
      USE_SIGLIP: 'true',
    });
    expect(parseFlagsFile('')).toEqual({});
    // Appended changes (echo 'SIGLIP_ROLLOUT_PERCENTAGE: 100' >> FLAGS_FILE, as the runbook does): the last wins.
    expect(parseFlagsFile('SIGLIP_ROLLOUT_PERCENTAGE: 10\nSIGLIP_ROLLOUT_PERCENTAGE: 100\n')).toEqual({
      SIGLIP_ROLLOUT_PERCENTAGE: 100,
    });
    expect(() => parseFlagsFile('SIGLIP_PERCENT: 5')).toThrow(/unknown key\(s\) SIGLIP_PERCENT/);
    expect(() => parseFlagsFile('- 1\n- 2')).toThrow(/expected a mapping/);
    expect(() => parseFlagsFile('a: [')).toThrow(/FLAGS_FILE/);
  });
});

describe('FlagsSource (real files in a temp dir)', () => {
  it('overlays the file on the environment, applies changes, keeps the last good flags on a bad file', async () => {
    const path = join(dir, 'flags.yaml');
    writeFileSync(path, 'SIGLIP_ROLLOUT_PERCENTAGE: 20\n');
    const warnings: string[] = [];
    const src = new FlagsSource(
      { USE_SIGLIP: 'false', SIGLIP_MIN_COVERAGE: '0.9' },
      { filePath: path, logger: { info: () => {}, warn: (_o, m) => warnings.push(m) } },
    );
    expect(src.flags).toEqual({ useSiglip: false, percentage: 0, minCoverage: 0.9 });
    const changes: number[] = [];
    src.onChange((f) => changes.push(f.percentage));
    await src.start();
    src.stop();
    expect(src.flags).toEqual({ useSiglip: false, percentage: 20, minCoverage: 0.9 });
    expect(src.status()).toMatchObject({
      source: 'env+file',
      origins: { useSiglip: 'env', percentage: 'file', minCoverage: 'env' },
    });
    writeFileSync(path, 'SIGLIP_ROLLOUT_PERCENTAGE: 500\n');
    expect(await src.reload()).toBe(false);
    expect(src.flags.percentage).toBe(20);
    expect(src.status().file?.lastError).toMatch(
      /SIGLIP_ROLLOUT_PERCENTAGE: expected a number between 0 and 100.*keeping the last good flags/,
    );
    expect(warnings).toHaveLength(1);
    writeFileSync(path, 'SIGLIP_ROLLOUT_PERCENTAGE=35\n');
    expect(await src.reload()).toBe(true);
    expect(src.flags.percentage).toBe(35);
    expect(src.status().file?.lastError).toBeUndefined();
    rmSync(path);
    expect(await src.reload()).toBe(false);
    expect(src.flags.percentage).toBe(35);
    expect(src.status().file?.lastError).toMatch(/cannot read/);
    expect(changes).toEqual([20, 35]);
  });
  it('applies a changed file live through polling', async () => {
    const path = join(dir, 'live.env');
    writeFileSync(path, 'USE_SIGLIP=false\n');
    const src = new FlagsSource({}, { filePath: path, pollMs: 20 });
    await src.start();
    writeFileSync(path, 'USE_SIGLIP=true\n');
    const deadline = Date.now() + 3000;
    while (!src.flags.useSiglip && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    src.stop();
    expect(src.flags.useSiglip).toBe(true);
  });
  it('start-up with a bad environment names the variable', () => {
    expect(() => new FlagsSource({ SIGLIP_ROLLOUT_PERCENTAGE: '101' })).toThrow(/SIGLIP_ROLLOUT_PERCENTAGE/);
  });
});

describe('CoverageMonitor (in-memory counter)', () => {
  it('caches counts, computes coverage and keeps old counts on failure', async () => {
    const counts: Record<string, number | undefined> = { clip: 10, siglip: 5 };
    let calls = 0;
    let fail = false;
    const counter = {
      exists: async (c: string) => counts[c] !== undefined,
      count: async (c: string) => {
        calls++;
        if (fail) throw new Error('store down');
        return counts[c] ?? 0;
      },
    };
    const mon = new CoverageMonitor(
      counter,
      () => ({ from: { model: 'a', collection: 'clip' }, to: { model: 'b', collection: 'siglip' } }),
      { intervalMs: 60_000 },
    );
    expect(mon.snapshot.refreshedAt).toBeUndefined();
    await mon.start();
    mon.stop();
    expect(mon.snapshot).toMatchObject({
      fromPoints: 10,
      toPoints: 5,
      coverage: 0.5,
      toExists: true,
      fromModel: 'a',
      toModel: 'b',
    });
    const before = calls;
    for (let i = 0; i < 100; i++) void mon.snapshot.coverage;
    expect(calls).toBe(before);
    fail = true;
    await mon.refresh();
    expect(mon.snapshot).toMatchObject({ coverage: 0.5, lastError: 'store down' });
    fail = false;
    counts['siglip'] = undefined;
    await mon.refresh();
    expect(mon.snapshot).toMatchObject({ toExists: false, coverage: 0, lastError: undefined });
    counts['clip'] = 0;
    counts['siglip'] = 0;
    await mon.refresh();
    expect(mon.snapshot.coverage).toBe(1);
  });

  it('measures coverage against the asset catalogue when it holds assets (an asset the old model failed on counts)', async () => {
    const counts: Record<string, number> = { clip: 9, siglip: 9 };
    let catalogued = 10;
    const counter = { exists: async () => true, count: async (c: string) => counts[c] ?? 0 };
    const pair = () => ({ from: { model: 'a', collection: 'clip' }, to: { model: 'b', collection: 'siglip' } });
    const mon = new CoverageMonitor(counter, pair, { catalogueCount: async () => catalogued });
    await mon.refresh();
    expect(mon.snapshot).toMatchObject({ baseline: 'catalogue', catalogueAssets: 10, coverage: 0.9 });
    counts['siglip'] = 10;
    await mon.refresh();
    expect(mon.snapshot.coverage).toBe(1);
    catalogued = 0; // an installation from before the catalogue: measured against the `from` collection
    await mon.refresh();
    expect(mon.snapshot).toMatchObject({ baseline: 'from', coverage: 10 / 9 });
  });
});
