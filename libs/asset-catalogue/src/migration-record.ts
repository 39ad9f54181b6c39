import { AppError } from '@image-search/service-kit';
import { servingPair, type ModelRegistry } from '@image-search/model-registry';
import type { ModelState, ModelStateStore } from './model-state.js';

const refuse = (message: string) => new AppError('FAILED_PRECONDITION', message);

/**
 * Records `from` → `to` as the serving pair for a migration that starts (gateways route and gate it,
 * workers migrate it). Refuses a retired model as either side, a `from` that is not the serving model,
 * and another migration while one is recorded with a different `to` (finish or retire it first).
 * `tools:reembed start` and the gateway's POST /admin/migrations/start both record through it.
 */
export async function recordMigration(
  registry: ModelRegistry,
  store: ModelStateStore,
  fromId: string,
  toId: string,
  names: { from: string; to: string } = { from: '--from', to: '--to' },
): Promise<ModelState> {
  const state = await store.readModelState();
  const from = registry.require(fromId, names.from);
  const to = registry.require(toId, names.to);
  if (from.id === to.id) throw new AppError('INVALID_ARGUMENT', `${names.from} and ${names.to} both name '${from.id}'`);
  const current = servingPair(registry, state);
  for (const m of [from, to])
    if (current.retired.includes(m.id))
      throw refuse(`model '${m.id}' was retired; a migration cannot use it (tools:models rollback brings it back)`);
  if (current.from.id !== from.id)
    throw refuse(
      `'${current.from.id}' serves now, not '${from.id}': a migration starts from the serving model (${names.from} ${current.from.id})`,
    );
  if (current.to && current.to.id !== to.id && state)
    throw refuse(
      `a migration ${current.from.id} -> ${current.to.id} is recorded; retire ${current.from.id} after it (tools:models retire) or finish it before migrating to '${to.id}'`,
    );
  if (state?.pair.to === to.id) return state;
  return store.writeModelState(
    { pair: { from: from.id, to: to.id }, retired: state?.retired ?? [] },
    state?.version ?? 0,
  );
}
