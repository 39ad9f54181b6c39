// The home-server systemd unit (deploy/systemd/image-search.service): verified by the real
// `systemd-analyze verify` where systemd is installed (ExecStart and WorkingDirectory pointed at this
// checkout and this node), and its restart, boot and stop settings checked against what start.mjs does.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, testEnv } from '@image-search/testing';

const UNIT = join(REPO_ROOT, 'deploy/systemd/image-search.service');
const text = readFileSync(UNIT, 'utf8');

/** `Key=value` lines by section (the last value of a key wins, as systemd reads them). */
function sections(src: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let cur = '';
  for (const raw of src.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const s = /^\[(\w+)\]$/.exec(line);
    if (s) {
      cur = s[1]!;
      out[cur] = {};
      continue;
    }
    const eq = line.indexOf('=');
    out[cur]![line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

const hasSystemd = spawnSync('sh', ['-c', 'command -v systemd-analyze']).status === 0;
if (!hasSystemd && testEnv.isCi)
  throw new Error(
    'the systemd unit check must run under CI=true, but systemd-analyze is missing (apt-get install systemd)',
  );
if (!hasSystemd) console.log('[systemd] SKIPPED systemd-analyze verify: systemd is not installed here');

describe('deploy/systemd/image-search.service', () => {
  const unit = sections(text);

  it('runs npm start from the checkout, restarts it on failure and at boot, and stops it in order', () => {
    const svc = unit['Service']!;
    expect(svc['ExecStart']).toMatch(/^\/usr\/bin\/node tools\/scripts\/start\.mjs$/);
    expect(readFileSync(join(REPO_ROOT, 'tools/scripts/start.mjs'), 'utf8')).toContain("process.on('SIGUSR2'");
    expect(svc['Restart']).toBe('on-failure');
    expect(svc['RestartSec']).toMatch(/^\d+s$/);
    expect(unit['Install']!['WantedBy']).toBe('multi-user.target');
    expect(unit['Unit']!['StartLimitBurst']).toMatch(/^\d+$/);
    // SIGTERM to start.mjs alone: it stops gateway, worker, embedders in order (their own drains).
    expect(svc['KillMode']).toBe('mixed');
    expect(svc['KillSignal']).toBe('SIGTERM');
    // At least the services' default shutdown deadlines one after another (10 + 60 + 20 + 20 s).
    expect(Number(/^(\d+)s$/.exec(svc['TimeoutStopSec']!)![1])).toBeGreaterThanOrEqual(110);
    expect(svc['EnvironmentFile']).toBe('-/etc/image-search/image-search.env');
  });

  it('its example environment file names only variables the stack reads', () => {
    const example = readFileSync(join(REPO_ROOT, 'deploy/systemd/image-search.env.example'), 'utf8');
    const keys = [...example.matchAll(/^#?\s?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!);
    expect(keys.length).toBeGreaterThan(8);
    const docs =
      readFileSync(join(REPO_ROOT, 'README.md'), 'utf8') + readFileSync(join(REPO_ROOT, 'docs/runbook.md'), 'utf8');
    expect(keys.filter((k) => !docs.includes(`\`${k}\``))).toEqual([]);
  });

  it.skipIf(!hasSystemd)('passes systemd-analyze verify (real systemd)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'unit-'));
    try {
      const local = text
        .replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `)
        .replace('WorkingDirectory=/opt/image-search', `WorkingDirectory=${REPO_ROOT}`)
        .replace(/^User=.*$/m, 'User=root')
        .replace(/^Group=.*$/m, 'Group=root');
      const path = join(dir, 'image-search.service');
      writeFileSync(path, local);
      const r = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
      // verify exits 0 on unknown keys and bad values too, but names them on stderr.
      expect(`${r.stderr}`.split('\n').filter((l) => l.includes(path))).toEqual([]);
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
