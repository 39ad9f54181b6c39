import { UnrecoverableError } from 'bullmq';
import type { Logger } from '@image-search/service-kit';
import { collectionSchema, type ModelFamily } from '@image-search/collection-schema';
import type { VectorStore } from '@image-search/vector-store';
import { verifyAgainstCatalogue, type AssetCatalogue } from '@image-search/asset-catalogue';
import {
  runReembedPlan,
  verifyReembedding,
  type CatalogueJob,
  type CatalogueQueue,
  type ReembedRunStore,
} from '@image-search/jobs';

/** What the plan and verify jobs need. */
export interface RunJobDeps {
  runs: ReembedRunStore;
  queue: CatalogueQueue<'reembed'>;
  store: VectorStore;
  logger: Logger;
  source: string;
  target: string;
  dim: number;
  vectorSample: number;
  /** The pair this worker migrates between (registry ids) and the target's family (its collection schema). */
  models: { from: string; to: string; family: ModelFamily };
  /** Which assets exist; an empty catalogue (an installation from before it) plans from the source collection. */
  catalogue?: AssetCatalogue | undefined;
  /** The fingerprint the target's vectors must carry (the registry's pin, else its embedder's). */
  targetFingerprint?: () => Promise<string | undefined>;
}

/** The catalogue when it knows the assets (non-empty), else undefined (plan and verify from the source). */
async function usableCatalogue(deps: RunJobDeps): Promise<AssetCatalogue | undefined> {
  return deps.catalogue && (await deps.catalogue.count()) > 0 ? deps.catalogue : undefined;
}

/** The planner job: checks the collections (creating the target from its schema), then plans. */
export async function processPlan(job: CatalogueJob<'reembed', 'reembed.plan'>, deps: RunJobDeps): Promise<unknown> {
  // A run names its pair; a worker configured for another pair would embed with the wrong model.
  const run = await deps.runs.get(job.data.runId);
  const m = deps.models;
  if (run?.toModel && (run.toModel !== m.to || run.fromModel !== m.from)) {
    throw new UnrecoverableError(
      `the run migrates ${run.fromModel} → ${run.toModel}, but this worker serves ${m.from} → ${m.to} (the rollout pair of MODEL_REGISTRY_FILE, or the seed's CLIP → SigLIP); start workers for that pair`,
    );
  }
  const catalogue = await usableCatalogue(deps);
  if (!catalogue && !(await deps.store.exists(deps.source))) {
    throw new UnrecoverableError(
      `source collection '${deps.source}' does not exist (CLIP_COLLECTION); nothing to re-embed`,
    );
  }
  // Creates the target model's collection when missing, or fails with SCHEMA_MISMATCH naming each difference.
  await deps.store
    .ensureCollection(collectionSchema(deps.models.family, { name: deps.target, vectorSize: deps.dim }))
    .catch((err: Error & { code?: string }) => {
      if (err.code === 'SCHEMA_MISMATCH') throw new UnrecoverableError(err.message);
      throw err;
    });
  const res = await runReembedPlan(job.data, {
    runs: deps.runs,
    queue: deps.queue,
    store: deps.store,
    source: deps.source,
    target: deps.target,
    catalogue,
    onProgress: (scanned) => job.updateProgress({ scanned }),
  });
  deps.logger.info(
    { run_id: job.data.runId, planned_from: catalogue ? 'catalogue' : deps.source, ...res },
    'planning done',
  );
  return res;
}

/** The verify job: runs the checks and ends the run completed (passed) or failed (what is missing). */
export async function processVerify(
  job: CatalogueJob<'reembed', 'reembed.verify'>,
  deps: RunJobDeps,
): Promise<unknown> {
  const { runId } = job.data;
  if ((await deps.runs.state(runId)) === null) throw new UnrecoverableError(`re-embedding run ${runId} does not exist`);
  const failedIds = new Set((await deps.runs.allFailed(runId)).map((f) => f.asset_id));
  const exists = await deps.store.exists(deps.target);
  const catalogue = await usableCatalogue(deps);
  const report = exists
    ? await verifyReembedding(deps.store, {
        source: deps.source,
        target: deps.target,
        dim: deps.dim,
        vectorSample: deps.vectorSample,
        failedIds,
        compareWithSource: !catalogue,
      })
    : null;
  if (report && catalogue) {
    // The catalogue decides which assets exist: every one needs a current vector of the target model.
    const c = await verifyAgainstCatalogue({
      store: deps.store,
      catalogue,
      collection: deps.target,
      modelId: deps.models.to,
      expectedFingerprint: await deps.targetFingerprint?.(),
    });
    report.catalogue = {
      catalogue_count: c.catalogue_count,
      missing: c.missing,
      extra: c.extra,
      stale: c.stale,
      wrong_fingerprint: c.wrong_fingerprint,
      coverage: c.coverage,
      passed: c.passed,
    };
    report.problems.push(...c.problems);
    report.passed = report.problems.length === 0;
  }
  if (!report) {
    await deps.runs.setError(runId, `verification failed: target collection '${deps.target}' does not exist`);
    await deps.runs.transition(runId, ['verifying'], 'failed');
    return { passed: false };
  }
  await deps.runs.setVerification(runId, report);
  if (report.passed) {
    await deps.runs.setError(runId, null);
    await deps.runs.transition(runId, ['verifying'], 'completed');
  } else {
    await deps.runs.setError(runId, `verification failed: ${report.problems.join('; ')}`);
    await deps.runs.transition(runId, ['verifying'], 'failed');
  }
  deps.logger.info({ run_id: runId, passed: report.passed, problems: report.problems }, 'verification done');
  return { passed: report.passed, problems: report.problems };
}
