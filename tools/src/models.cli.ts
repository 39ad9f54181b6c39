// tools:models: which models serve, and the end of a migration: retire the old model after a completed
// and verified migration (its collection kept MODEL_RETIRE_GRACE_DAYS for a rollback), roll back within
// the grace period, drop the retired collection after it.
//   npx nx run tools:models -- status | retire --model A | rollback --model A | drop --model A  [--json]
import { Redis } from 'ioredis';
import { createLogger, isAppError, parseCommandLine, runCli, UsageError } from '@image-search/service-kit';
import { createAssetCatalogue } from '@image-search/asset-catalogue';
import { servingPair } from '@image-search/model-registry';
import { ReembedControl } from '@image-search/jobs';
import { createVectorStore } from '@image-search/vector-store';
import { loadModelsConfig } from './models.config.js';
import { dropModel, retireModel, rollbackModel, type LifecycleDeps } from './models/model-lifecycle.js';

const USAGE = `models: the serving pair, and retiring the old model after a migration

usage: npx nx run tools:models -- <command> [--model ID] [--json]

commands:
  status             the serving pair, where it is recorded, and the retired models with their grace periods
  retire --model A   after a completed and verified migration A -> B: B serves everyone and the next
                     migration starts from it (tools:reembed start --to C); A's collection is kept for
                     MODEL_RETIRE_GRACE_DAYS (default 7). Refuses unless the last run migrated A -> B,
                     completed and passed verification, and B's collection verifies against the catalogue now.
  rollback --model A within the grace period: A serves again, B becomes its rollout target again
  drop --model A     drop a retired model's collection; refuses during the grace period

The serving pair is recorded in the asset catalogue's store (CATALOGUE_URL, else DATA_DIR/catalogue), where
every gateway (within COVERAGE_REFRESH_MS) and worker reads it. Environment: REDIS_URL, QUEUE_PREFIX,
DATA_DIR, QDRANT_URL, CATALOGUE_URL, MODEL_REGISTRY_FILE and the seed variables.
Exit status: 0 done, 1 refused or failed, 2 bad arguments.`;

const COMMANDS = ['status', 'retire', 'rollback', 'drop'] as const;

function parse(
  argv: string[],
): { command: (typeof COMMANDS)[number]; model: string | undefined; json: boolean } | string {
  const { values, positionals } = parseCommandLine({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return '';
  const command = positionals[0] as (typeof COMMANDS)[number] | undefined;
  if (!command || !COMMANDS.includes(command)) return `missing or unknown command (one of ${COMMANDS.join(', ')})`;
  if (positionals.length > 1) return `unexpected argument ${JSON.stringify(positionals[1])}`;
  if (command !== 'status' && !values.model) return `${command} needs --model ID (a registered model id)`;
  return { command, model: values.model, json: values.json };
}

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  if (typeof args === 'string') throw new UsageError(args);
  const { config, registry } = loadModelsConfig();
  const store = await createVectorStore({
    qdrantUrl: config.QDRANT_URL,
    qdrantApiKey: config.QDRANT_API_KEY,
    dataDir: config.DATA_DIR,
    logger: createLogger('models-cli', 'warn'),
  });
  const catalogue = await createAssetCatalogue({ url: config.CATALOGUE_URL, dataDir: config.DATA_DIR });
  const deps: LifecycleDeps = { registry, catalogue, store };
  const out = (text: string, json: unknown) =>
    process.stdout.write(`${args.json ? JSON.stringify(json, null, 2) : text}\n`);
  try {
    switch (args.command) {
      case 'status': {
        const state = await catalogue.readModelState();
        const p = servingPair(registry, state);
        const lines = [
          `serving: ${p.from.id} (${p.from.collection})${p.to ? `, migrating to ${p.to.id} (${p.to.collection})` : ', nothing being migrated to'}`,
          `recorded: ${state ? `model state version ${state.version}, ${state.updated_at}, in ${catalogue.location}` : 'nothing yet (the registry rollout pair serves)'}`,
          ...(state?.retired ?? []).map(
            (r) =>
              `retired: ${r.model_id} (${r.collection}) replaced by ${r.replaced_by} at ${r.retired_at}; ${r.dropped_at ? `dropped ${r.dropped_at}` : `kept until ${r.drop_after}`}`,
          ),
        ];
        out(lines.join('\n'), {
          serving: { from: p.from.id, to: p.to?.id ?? null },
          source: p.source,
          state: state ?? null,
        });
        return 0;
      }
      case 'retire': {
        const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2, connectTimeout: 5000, lazyConnect: true });
        redis.on('error', () => undefined);
        const control = new ReembedControl({
          redis,
          prefix: config.QUEUE_PREFIX,
          sourceCollection: registry.pair.from.collection,
          targetCollection: registry.pair.to.collection,
        });
        try {
          const last = await control.status().catch((err: Error) => {
            throw new Error(`cannot read the last run from Redis at REDIS_URL (${err.message})`);
          });
          const r = await retireModel(
            deps,
            args.model!,
            last.run_id ? last : undefined,
            config.MODEL_RETIRE_GRACE_DAYS,
          );
          out(
            [
              `retired ${r.retired.model_id}: ${r.retired.replaced_by} serves everyone now (verified: ${r.verification.points} vectors, coverage ${(r.verification.coverage * 100).toFixed(1)}% of ${r.verification.catalogue_count} catalogued assets)`,
              `kept: collection ${r.retired.collection} until ${r.retired.drop_after} (rollback: tools:models -- rollback --model ${r.retired.model_id})`,
              `next: set SIGLIP_ROLLOUT_PERCENTAGE=0 and USE_SIGLIP=false before the next migration (tools:reembed -- start --to MODEL)`,
            ].join('\n'),
            r,
          );
          return 0;
        } finally {
          await control.close().catch(() => undefined);
          redis.disconnect();
        }
      }
      case 'rollback': {
        const s = await rollbackModel(deps, args.model!);
        out(`${s.pair.from} serves again; ${s.pair.to} is its rollout target (model state version ${s.version})`, s);
        return 0;
      }
      case 'drop': {
        const r = await dropModel(deps, args.model!);
        out(`dropped collection ${r.collection} of retired model ${r.model_id} (${r.dropped_at})`, r);
        return 0;
      }
    }
  } finally {
    await catalogue.close();
    await store.close();
  }
}

await runCli('models', USAGE, main, { exit: true, describe: (err) => (isAppError(err) ? err.message : undefined) });
