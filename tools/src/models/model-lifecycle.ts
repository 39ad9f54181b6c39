// The model lifecycle over the recorded model state: a migration names the serving pair, a verified
// migration retires its `from` model (collection kept for a grace period, for a rollback), and the drop
// removes a retired model's collection once the grace period is over.
import { AppError } from '@image-search/service-kit';
import {
  recordMigration as recordMigrationIn,
  verifyAgainstCatalogue,
  type AssetCatalogue,
  type CatalogueVerification,
  type ModelState,
  type RetiredModel,
} from '@image-search/asset-catalogue';
import { servingPair, type ModelRegistry, type RegisteredModel } from '@image-search/model-registry';
import { sampleCollectionTags, type VectorStore } from '@image-search/vector-store';

/** What the lifecycle reads and writes. */
export interface LifecycleDeps {
  registry: ModelRegistry;
  catalogue: AssetCatalogue;
  store: VectorStore;
  now?: () => Date;
}

/** The last re-embedding run as `tools:reembed status` reports it (the fields retirement checks). */
export interface LastRun {
  state: string;
  from_model: string | null;
  to_model: string | null;
  verification: { passed: boolean } | null;
}

const refuse = (message: string, details: Record<string, unknown> = {}) =>
  new AppError('FAILED_PRECONDITION', message, { details });

async function read(deps: LifecycleDeps): Promise<{ state: ModelState | undefined; version: number }> {
  const state = await deps.catalogue.readModelState();
  return { state, version: state?.version ?? 0 };
}

/**
 * Records `from` → `to` as the serving pair for a migration that starts (gateways route and gate it,
 * workers migrate it). Refuses a retired model as either side, and another migration while one is
 * recorded with a different `to` (finish or retire it first).
 */
export async function recordMigration(deps: LifecycleDeps, fromId: string, toId: string): Promise<ModelState> {
  return recordMigrationIn(deps.registry, deps.catalogue, fromId, toId);
}

/** The fingerprint `to`'s vectors must carry: its pin, else the collection's most common. */
async function expected(deps: LifecycleDeps, m: RegisteredModel): Promise<string | undefined> {
  return m.fingerprint ?? (await sampleCollectionTags(deps.store, m.collection, 256)).tagged[0]?.fingerprint;
}

/**
 * Retires the serving model after a completed and verified migration away from it: the last run
 * migrated it to the pair's `to` model and passed verification, and the `to` collection verifies
 * against the catalogue now (no asset missing, stale or of another fingerprint). The `to` model then
 * serves everyone and the next migration starts from it; the old collection is kept `graceDays`.
 */
export async function retireModel(
  deps: LifecycleDeps,
  modelId: string,
  lastRun: LastRun | undefined,
  graceDays: number,
): Promise<{ state: ModelState; retired: RetiredModel; verification: CatalogueVerification }> {
  const { state, version } = await read(deps);
  const old = deps.registry.require(modelId, '--model');
  const pair = servingPair(deps.registry, state);
  if (pair.from.id !== old.id || !pair.to)
    throw refuse(
      `'${old.id}' is not the serving model of a migration (serving: ${pair.from.id}${pair.to ? ` -> ${pair.to.id}` : ', nothing being migrated to'}); only the 'from' model of a completed migration can be retired`,
    );
  const next = pair.to;
  if (!lastRun || lastRun.from_model !== old.id || lastRun.to_model !== next.id)
    throw refuse(
      `no re-embedding run ${old.id} -> ${next.id} is recorded${lastRun?.to_model ? ` (the last one: ${lastRun.from_model} -> ${lastRun.to_model})` : ''}: run tools:reembed start --from ${old.id} --to ${next.id} first`,
    );
  if (lastRun.state !== 'completed' || !lastRun.verification?.passed)
    throw refuse(
      `the run ${old.id} -> ${next.id} is ${lastRun.state}${lastRun.verification && !lastRun.verification.passed ? ' and its verification failed' : ''}; retire only after it completed and verified (tools:reembed verify / retry-failed)`,
    );
  const verification = await verifyAgainstCatalogue({
    store: deps.store,
    catalogue: deps.catalogue,
    collection: next.collection,
    modelId: next.id,
    expectedFingerprint: await expected(deps, next),
  });
  if (!verification.passed)
    throw refuse(`'${next.id}' does not cover the catalogue now: ${verification.problems.join('; ')}`, {
      problems: verification.problems,
    });
  const now = (deps.now ?? (() => new Date()))();
  const retired: RetiredModel = {
    model_id: old.id,
    collection: old.collection,
    replaced_by: next.id,
    retired_at: now.toISOString(),
    drop_after: new Date(now.getTime() + graceDays * 86_400_000).toISOString(),
    dropped_at: null,
  };
  const written = await deps.catalogue.writeModelState(
    {
      pair: { from: next.id, to: null },
      retired: [...(state?.retired ?? []).filter((r) => r.model_id !== old.id), retired],
    },
    version,
  );
  return { state: written, retired, verification };
}

/** Brings a retired model back as the serving one within its grace period (its collection still exists). */
export async function rollbackModel(deps: LifecycleDeps, modelId: string): Promise<ModelState> {
  const { state, version } = await read(deps);
  const r = state?.retired.find((x) => x.model_id === modelId);
  if (!state || !r) throw refuse(`'${modelId}' is not retired`);
  if (r.dropped_at) throw refuse(`'${modelId}' was dropped at ${r.dropped_at}; its vectors are gone (migrate to it again)`);
  if (state.pair.from !== r.replaced_by)
    throw refuse(`'${r.replaced_by}' (which replaced '${modelId}') no longer serves; roll back in the reverse order`);
  return deps.catalogue.writeModelState(
    { pair: { from: modelId, to: r.replaced_by }, retired: state.retired.filter((x) => x !== r) },
    version,
  );
}

/** Drops a retired model's collection once its grace period is over; refuses before, naming the date. */
export async function dropModel(deps: LifecycleDeps, modelId: string): Promise<RetiredModel> {
  const { state, version } = await read(deps);
  const r = state?.retired.find((x) => x.model_id === modelId);
  if (!state || !r)
    throw refuse(`'${modelId}' is not retired: only a model retired after a verified migration can be dropped`);
  if (r.dropped_at) return r;
  const now = (deps.now ?? (() => new Date()))();
  if (now.getTime() < Date.parse(r.drop_after))
    throw refuse(
      `'${modelId}' is in its grace period until ${r.drop_after} (MODEL_RETIRE_GRACE_DAYS); its collection '${r.collection}' is kept for a rollback until then`,
      { drop_after: r.drop_after },
    );
  if (state.pair.from === modelId || state.pair.to === modelId) throw refuse(`'${modelId}' is in the serving pair again`);
  await deps.store.dropCollection(r.collection);
  const dropped = { ...r, dropped_at: now.toISOString() };
  await deps.catalogue.writeModelState(
    { pair: state.pair, retired: state.retired.map((x) => (x === r ? dropped : x)) },
    version,
  );
  return dropped;
}
