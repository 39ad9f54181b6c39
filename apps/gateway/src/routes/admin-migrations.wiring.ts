import type { Redis } from 'ioredis';
import type { Router } from 'express';
import type { Logger } from '@image-search/service-kit';
import { ReembedControl } from '@image-search/jobs';
import type { ModelStateStore } from '@image-search/asset-catalogue';
import type { ModelRegistry, ServingPairSource } from '@image-search/model-registry';
import type { VectorStore } from '@image-search/vector-store';
import { createAdminMigrationsRouter } from './admin-migrations.router.js';
import { createMigrationStarter } from './migration-starter.js';

/** The re-embedding run's control and the admin routes that steer it, by model id and under the old /admin/siglip alias. */
export function wireMigrations(deps: {
  redis: Redis;
  prefix: string;
  registry: ModelRegistry;
  servingPair: ServingPairSource;
  state: ModelStateStore;
  store: VectorStore;
  logger: Logger;
}): { control: ReembedControl; adminMigrationsRouter: Router; adminSiglipRouter: Router } {
  const { registry, servingPair, logger } = deps;
  const control = new ReembedControl({
    redis: deps.redis,
    prefix: deps.prefix,
    // The serving pair (the registry's, until a migration or retirement recorded another).
    sourceCollection: registry.pair.from.collection,
    targetCollection: registry.pair.to.collection,
    models: { from: registry.pair.from.id, to: registry.pair.to.id },
    current: () => {
      const p = servingPair.pair;
      const to = p.to ?? registry.pair.to;
      return {
        sourceCollection: p.from.collection,
        targetCollection: to.collection,
        models: { from: p.from.id, to: to.id },
      };
    },
    store: deps.store,
  });
  const starter = createMigrationStarter({ registry, state: deps.state, serving: servingPair });
  return {
    control,
    adminMigrationsRouter: createAdminMigrationsRouter({ control, starter, logger }),
    // The old /admin/siglip routes (users' scripts): the same run, every start the configured pair's.
    adminSiglipRouter: createAdminMigrationsRouter({
      control,
      starter,
      pinned: { from: registry.pair.from.id, to: registry.pair.to.id },
      logger,
    }),
  };
}
