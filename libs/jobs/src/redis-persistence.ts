import type { Redis } from 'ioredis';

/** What a Redis keeps across a restart: AOF, RDB snapshots, both, none, or unknown (CONFIG refused). */
export interface RedisPersistence {
  aof: boolean | undefined;
  rdb: boolean | undefined;
  /** Why it could not be read (e.g. CONFIG is disabled, as managed Redis services do), else undefined. */
  unknownReason: string | undefined;
}

/** The sentence operators get when a Redis keeps nothing across a restart. */
export const NO_PERSISTENCE_ADVICE =
  'enable persistence (appendonly yes, or RDB snapshots with save) so a Redis restart keeps re-embedding runs, ingest progress and API keys; see docs/runbook.md, "Redis persistence"';

/**
 * Reads `CONFIG GET appendonly` and `CONFIG GET save`. A Redis that forbids CONFIG (renamed or
 * disabled command, an ACL without +config, a managed service) answers unknown, never an error.
 */
export async function redisPersistence(redis: Redis): Promise<RedisPersistence> {
  try {
    const [aof, save] = await Promise.all([
      redis.config('GET', 'appendonly') as Promise<string[]>,
      redis.config('GET', 'save') as Promise<string[]>,
    ]);
    if (aof.length < 2 || save.length < 2)
      return { aof: undefined, rdb: undefined, unknownReason: 'CONFIG GET answered nothing' };
    return { aof: aof[1] === 'yes', rdb: (save[1] ?? '').trim() !== '', unknownReason: undefined };
  } catch (err) {
    return { aof: undefined, rdb: undefined, unknownReason: (err as Error).message.split('\n')[0] };
  }
}

/** A one-line description for logs: "AOF and RDB", "AOF", "RDB snapshots", "none" or "unknown (…)". */
export function describePersistence(p: RedisPersistence): string {
  if (p.unknownReason !== undefined) return `unknown (${p.unknownReason})`;
  if (p.aof && p.rdb) return 'AOF and RDB';
  if (p.aof) return 'AOF';
  if (p.rdb) return 'RDB snapshots';
  return 'none';
}
