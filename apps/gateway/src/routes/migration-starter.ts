import { AppError } from '@image-search/service-kit';
import { recordMigration, type ModelStateStore } from '@image-search/asset-catalogue';
import type { ModelRegistry, ServingPairSource } from '@image-search/model-registry';
import type { MigrationStarter } from './admin-migrations.router.js';

/**
 * The admin API's migration starter: a start names registered model ids (defaults: the serving pair),
 * the pair is recorded as the serving migration with the checks `tools:reembed start` applies (the
 * `from` must serve now, no retired model, no other migration in flight), and the serving pair is read
 * again at once, so the run the control starts next migrates that pair's collections.
 */
export function createMigrationStarter(deps: {
  registry: ModelRegistry;
  state: ModelStateStore;
  serving: Pick<ServingPairSource, 'pair' | 'refresh'>;
}): MigrationStarter {
  return {
    async prepare(pair) {
      const serving = await deps.serving.refresh();
      const from = pair.from ?? serving.from.id;
      const to = pair.to ?? serving.to?.id;
      if (!to)
        throw new AppError(
          'FAILED_PRECONDITION',
          `nothing is being migrated to: '${serving.from.id}' serves alone since its predecessor was retired; name "to" (a registered model id)`,
          { details: { field: 'to' } },
        );
      await recordMigration(deps.registry, deps.state, from, to, { from: 'from', to: 'to' });
      const now = await deps.serving.refresh();
      if (now.from.id !== from || now.to?.id !== to)
        throw new AppError('UNAVAILABLE', `the recorded serving pair could not be read back; try again`);
      return { from, to };
    },
  };
}
