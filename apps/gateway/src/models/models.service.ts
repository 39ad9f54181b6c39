import { isAppError } from '@image-search/service-kit';
import type { EmbedderApi, EmbedderInfo } from '@image-search/embedder-client';
import type { ModelRegistry, RegisteredModel, ServingPair } from '@image-search/model-registry';
import type { VectorStore } from '@image-search/vector-store';

/** One model tower as the admin API shows it (Info `towers`). */
export interface TowerView {
  tower: 'image' | 'text';
  /** `unloaded`: freed after idle_unload_s without jobs; the next request that needs it loads it again. */
  state: 'loaded' | 'unloaded' | 'loading' | 'unknown';
  /** When it last ran a job (ISO 8601), or null when not since the embedder started. */
  last_used_at: string | null;
}

/** One registered model as the admin API shows it. */
export interface ModelView {
  id: string;
  family: string;
  dim: number;
  collection: string;
  /** The embedder's address, or null when none is configured. */
  embedder: string | null;
  /** `from` / `to` when the model is a member of the serving pair, `retired` after a retirement. */
  role: 'from' | 'to' | 'retired' | null;
  origin: 'seed' | 'file';
  /** The fingerprint the model's embedder reports in Info (null while it cannot be asked). */
  fingerprint: string | null;
  /** The fingerprint pinned in the registry file, or null. */
  pinned_fingerprint: string | null;
  embedder_status: 'serving' | 'unreachable' | 'not_configured';
  /** The embedder's own model name (Info `model_id`), or null. */
  embedder_model: string | null;
  collection_exists: boolean;
  /** Points in the collection (0 when it does not exist). */
  points: number;
  /** Each tower's state, or null while the embedder cannot be asked or does not report them (older embedders). */
  towers: TowerView[] | null;
  /** The embedder's MODEL_IDLE_UNLOAD_S (0: towers stay loaded), or null as for `towers`. */
  idle_unload_s: number | null;
}

function towerViews(info: EmbedderInfo | undefined): TowerView[] | null {
  if (!info?.towers) return null;
  return info.towers.map((t) => ({
    tower: t.tower,
    state: t.state,
    last_used_at: t.lastUsedAt === undefined ? null : new Date(t.lastUsedAt).toISOString(),
  }));
}

/** What the models view needs: the registry, the store, and a client per model that has an embedder. */
export interface ModelsServiceDeps {
  registry: ModelRegistry;
  store: VectorStore;
  embedders: ReadonlyMap<string, EmbedderApi>;
  deadlineMs: number;
  /** The serving pair (defaults to the registry's rollout pair). */
  pair?: () => ServingPair;
}

/** Lists the registered models with what their embedders and collections say now (GET /api/v1/admin/models). */
export class ModelsService {
  constructor(private readonly deps: ModelsServiceDeps) {}

  /** Every registered model, asked in parallel; an unreachable embedder shows as such instead of failing the list. */
  async list(): Promise<ModelView[]> {
    return Promise.all(this.deps.registry.list().map((m) => this.view(m)));
  }

  private async view(m: RegisteredModel): Promise<ModelView> {
    const { registry, store, embedders, deadlineMs } = this.deps;
    const api = embedders.get(m.id);
    const [info, exists] = await Promise.all([
      api
        ? api.info({ deadlineMs }).catch((err: unknown) => (isAppError(err) ? undefined : Promise.reject(err)))
        : undefined,
      store.exists(m.collection),
    ]);
    const pair = this.deps.pair?.() ?? { from: registry.pair.from, to: registry.pair.to, retired: [] as string[] };
    const role =
      pair.from.id === m.id ? 'from' : pair.to?.id === m.id ? 'to' : pair.retired.includes(m.id) ? 'retired' : null;
    return {
      id: m.id,
      family: m.family,
      dim: m.dim,
      collection: m.collection,
      embedder: m.embedder ?? null,
      role,
      origin: m.origin,
      fingerprint: info?.fingerprint ?? null,
      pinned_fingerprint: m.fingerprint ?? null,
      embedder_status: !api ? 'not_configured' : info ? 'serving' : 'unreachable',
      embedder_model: info?.modelId ?? null,
      collection_exists: exists,
      points: exists ? await store.count(m.collection) : 0,
      towers: towerViews(info),
      idle_unload_s: info?.towers ? (info.idleUnloadS ?? 0) : null,
    };
  }
}
