import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { chromiumAvailable } from './chromium.js';

describe('chromiumAvailable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chromium-'));
  const missing = join(dir, 'no-such-chromium');

  it('is true when the browser is there, in CI or not', () => {
    const present = join(dir, 'chromium');
    writeFileSync(present, '');
    expect(chromiumAvailable('page', { path: present, ci: true })).toBe(true);
    expect(chromiumAvailable('page', { path: present, ci: false })).toBe(true);
  });

  it('skips with one line naming the install command outside CI', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    expect(chromiumAvailable('the page test', { path: missing, ci: false })).toBe(false);
    expect(log).toHaveBeenCalledTimes(1);
    expect(log.mock.calls[0]?.[0]).toBe(
      `[e2e] SKIPPED the page test: no Chromium at ${missing} (apt-get install chromium, or set CHROMIUM_PATH)`,
    );
    log.mockRestore();
  });

  it('fails under CI=true with the install command instead of skipping', () => {
    expect(() => chromiumAvailable('the page test', { path: missing, ci: true })).toThrow(
      /the page test must run under CI=true.*apt-get install chromium/,
    );
  });
});
