import { existsSync } from 'node:fs';
import { testEnv } from './env.js';

/** The command that installs the browser the page tests drive (Debian's package; the README says the same). */
export const CHROMIUM_INSTALL = 'apt-get install chromium';

/**
 * Whether the page tests can run: true when Chromium is at `path`. Outside CI a missing browser prints one
 * SKIPPED line and returns false; under CI=true it throws, so a CI run can never pass without opening the page.
 */
export function chromiumAvailable(
  suite: string,
  { path = testEnv.chromiumPath, ci = testEnv.isCi }: { path?: string; ci?: boolean } = {},
): boolean {
  if (existsSync(path)) return true;
  const why = `no Chromium at ${path} (${CHROMIUM_INSTALL}, or set CHROMIUM_PATH)`;
  if (ci) throw new Error(`${suite} must run under CI=true, but there is ${why}`);
  console.log(`[e2e] SKIPPED ${suite}: ${why}`);
  return false;
}
