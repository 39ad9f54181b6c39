import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { testEnv } from './env.js';

/** Whether the reference fixtures folder is present (development and CI machines only). */
export function fixturesAvailable(): boolean {
  return existsSync(join(testEnv.fixturesDir, 'golden')) && existsSync(join(testEnv.fixturesDir, 'models'));
}

/** A path inside the fixtures folder. */
export function fixturePath(...parts: string[]): string {
  return join(testEnv.fixturesDir, ...parts);
}

let announced = false;
/** Prints one clear line when the conformance suite is skipped, once per process. */
export function announceFixtureSkip(suite: string): void {
  if (announced) return;
  announced = true;
  console.log(
    `[conformance] SKIPPED ${suite}: fixtures not found at ${testEnv.fixturesDir} (set FIXTURES_DIR to run it)`,
  );
}
