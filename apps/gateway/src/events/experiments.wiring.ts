import type { Redis } from 'ioredis';
import type { Logger } from '@image-search/service-kit';
import type { ServingPairSource } from '@image-search/model-registry';
import type { GatewayConfig } from '../config.js';
import { RampController } from '../ramp/ramp-controller.js';
import type { AssetPaths } from '../search/asset-paths.js';
import type { PairSearch } from '../shadow/pair-search.js';
import type { ShadowService } from '../shadow/shadow.service.js';
import { OnlineMetrics } from './online-metrics.js';
import { SearchIds, sharedSearchIdSecret } from './search-id.js';
import { SearchTracking } from './search-tracking.js';

/** The migration as an experiment: search ids and online metrics per arm, interleaving, and the guarded ramp (started). */
export async function wireExperiments(
  config: GatewayConfig,
  deps: {
    redis: Redis;
    logger: Logger;
    paths: AssetPaths;
    pairSearch: PairSearch;
    servingPair: ServingPairSource;
    shadow: ShadowService;
  },
): Promise<{ tracking: SearchTracking; ramp: RampController }> {
  const { redis, logger, servingPair, shadow } = deps;
  const windowMs = config.EVENTS_WINDOW_HOURS * 3600_000;
  const tracking = new SearchTracking({
    ids: new SearchIds(await sharedSearchIdSecret(redis, config.QUEUE_PREFIX, logger), windowMs),
    online: new OnlineMetrics(redis, config.QUEUE_PREFIX, config.EVENTS_RETENTION_DAYS, windowMs),
    logger,
    paths: deps.paths,
    pair: deps.pairSearch,
    interleave: config.INTERLEAVE_BUCKETS,
    deadlineMs: config.EMBEDDER_DEADLINE_MS,
  });
  const ramp = new RampController({
    redis,
    prefix: config.QUEUE_PREFIX,
    online: tracking.online,
    logger,
    pair: () => {
      const p = servingPair.pair;
      return p.to ? { from: p.from.id, to: p.to.id } : undefined;
    },
    shadowOverlap: () => {
      const p = shadow.summary().pairs.find((x) => x.comparisons >= 20);
      return p?.overlap_at_10 ?? null;
    },
    tickMs: config.RAMP_TICK_MS,
  });
  return { tracking, ramp };
}
