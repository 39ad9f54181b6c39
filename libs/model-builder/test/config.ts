import { resolve } from 'node:path';

/** Test settings read from the environment (the reference fixtures folder, optional). */
export const testConfig = {
  fixturesDir: resolve(process.env['FIXTURES_DIR'] ?? resolve(import.meta.dirname, '../../../../shared/fixtures')),
};
