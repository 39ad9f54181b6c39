import type { EmbedderApi } from '@image-search/embedder-client';
import type { HealthState } from '@image-search/service-kit';
import type { RolloutRouter } from '@image-search/rollout-router';
import type { VectorStore } from '@image-search/vector-store';

/**
 * The readiness checks. One embedder down degrades the gateway without making it unready: search answers
 * from the other (EmbeddingService), so a load balancer keeps sending traffic while a crashed embedder restarts.
 */
export function addHealthChecks(
  health: HealthState,
  deps: {
    clip: EmbedderApi;
    siglip: EmbedderApi | undefined;
    byModel: Map<string, EmbedderApi>;
    router: RolloutRouter;
    store: VectorStore;
    collection: string;
  },
): void {
  const serving = (api: EmbedderApi) => () => api.isServing({ deadlineMs: 1500 }).catch(() => false);
  health.addCheck('clip_embedder', serving(deps.clip), { required: false });
  if (deps.siglip) health.addCheck('siglip_embedder', serving(deps.siglip), { required: false });
  health.addCheck('search_embedder', async () => {
    const { from, to } = deps.router.pair;
    const fromApi = deps.byModel.get(from.model);
    const toApi = to ? deps.byModel.get(to.model) : undefined;
    return (
      (fromApi !== undefined && (await serving(fromApi)())) ||
      (toApi !== undefined && !deps.router.blocker() && (await serving(toApi)()))
    );
  });
  health.addCheck('vector_store', async () => {
    await deps.store.exists(deps.collection);
    return true;
  });
}
