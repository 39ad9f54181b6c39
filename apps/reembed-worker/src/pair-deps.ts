import { UnrecoverableError } from 'bullmq';
import type { Logger } from '@image-search/service-kit';
import { EmbedderClient } from '@image-search/embedder-client';
import type { ModelRegistry, RegisteredModel } from '@image-search/model-registry';
import type { ReembedRunStore } from '@image-search/jobs';
import type { BatchDeps } from './reembed-batch.job.js';
import type { RunJobDeps } from './reembed-control.jobs.js';
import { cachedLimits } from './embedder-limits.js';

/** What every pair's jobs share: everything of BatchDeps but the pair's own parts. */
export type SharedDeps = Omit<
  BatchDeps,
  'source' | 'target' | 'dim' | 'models' | 'embedder' | 'limits' | 'targetModel' | 'targetFingerprint'
> &
  Pick<RunJobDeps, 'vectorSample' | 'catalogue'> & { embedDeadlineMs: number };

/** The deps of one migration (from → to): its collections, the target's embedder and limits. */
export type PairDeps = RunJobDeps & BatchDeps;

/**
 * The jobs' deps per migration, made on first use: a worker serves whichever registered pair a run
 * names (the pair moves on after a retirement without restarting workers). A run naming a model that
 * is not registered, or one without an embedder address, fails as unrecoverable, saying which.
 */
export class PairDepsCache {
  private readonly byPair = new Map<string, PairDeps>();
  private readonly runPair = new Map<string, { from: string; to: string }>();
  private readonly clients: EmbedderClient[] = [];

  constructor(
    private readonly registry: ModelRegistry,
    private readonly shared: SharedDeps,
    private readonly runs: ReembedRunStore,
    /** The pair a run without recorded models migrates (the serving pair at start). */
    private readonly fallback: () => { from: string; to: string },
    private readonly logger: Logger,
  ) {}

  /** The deps of the pair `runId` migrates. */
  async forRun(runId: string): Promise<PairDeps> {
    let p = this.runPair.get(runId);
    if (!p) {
      const run = await this.runs.get(runId);
      const d = this.fallback();
      p = { from: run?.fromModel ?? d.from, to: run?.toModel ?? d.to };
      if (run) this.runPair.set(runId, p);
    }
    return this.forModels(p.from, p.to);
  }

  /** The deps of the migration `fromId` → `toId`. */
  forModels(fromId: string, toId: string): PairDeps {
    const key = `${fromId}\u0000${toId}`;
    const hit = this.byPair.get(key);
    if (hit) return hit;
    const from = this.model(fromId, 'from');
    const to = this.model(toId, 'to');
    if (!to.embedder)
      throw new UnrecoverableError(
        `model '${to.id}' has no embedder address; set it in MODEL_REGISTRY_FILE (or SIGLIP_EMBEDDER_URL for the seed's SigLIP)`,
      );
    const embedder = new EmbedderClient({ address: to.embedder, defaultDeadlineMs: this.shared.embedDeadlineMs });
    this.clients.push(embedder);
    const limits = cachedLimits(embedder, to.dim, this.logger);
    const deps: PairDeps = {
      ...this.shared,
      source: from.collection,
      target: to.collection,
      dim: to.dim,
      models: { from: from.id, to: to.id, family: to.family },
      embedder,
      limits,
      targetModel: to,
      targetFingerprint: async () => to.fingerprint ?? (await limits()).fingerprint,
    };
    this.byPair.set(key, deps);
    this.logger.info({ migration: `${from.id} -> ${to.id}`, embedder: to.embedder }, 'serving a migration');
    return deps;
  }

  /** Closes every embedder client made. */
  close(): void {
    for (const c of this.clients) c.close();
  }

  private model(id: string, side: string): RegisteredModel {
    const m = this.registry.get(id);
    if (!m)
      throw new UnrecoverableError(
        `the run migrates ${side} '${id}', which is not a registered model here (known: ${this.registry
          .list()
          .map((x) => x.id)
          .join(', ')}); give this worker the same MODEL_REGISTRY_FILE as the tools`,
      );
    return m;
  }
}
