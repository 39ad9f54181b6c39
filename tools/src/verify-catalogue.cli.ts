// tools:verify: compares each registered model's collection with the asset catalogue (ids and content
// hashes) and the model's fingerprint; exit 1 when any collection is missing, extra, stale or mixed vectors.
//   npx nx run tools:verify -- [--model ID ...] [--json] [--sample N]
import { createLogger, isAppError, parseCommandLine, runCli, UsageError } from '@image-search/service-kit';
import { EmbedderClient } from '@image-search/embedder-client';
import {
  createAssetCatalogue,
  verifyAgainstCatalogue,
  type CatalogueVerification,
} from '@image-search/asset-catalogue';
import { createVectorStore, sampleCollectionTags, type VectorStore } from '@image-search/vector-store';
import type { RegisteredModel } from '@image-search/model-registry';
import { loadVerifyCatalogueConfig } from './verify-catalogue.config.js';

const USAGE = `verify: compare each model's collection with the asset catalogue

usage: npx nx run tools:verify -- [--model ID ...] [--json] [--sample N]

  --model ID    a registered model (repeatable; default: every registered model whose collection exists)
  --json        print the reports as JSON
  --sample N    ids listed per kind of problem (default 10)
  -h, --help

Checks, per collection: catalogue assets without a vector (missing), vectors of assets the catalogue
lacks (extra), vectors embedded from an older version of the file (stale: content hash differs), and
vectors of another model or fingerprint than the model's (pinned in MODEL_REGISTRY_FILE, else what its
embedder reports, else the collection's most common).
Environment: CATALOGUE_URL (PostgreSQL; else the embedded catalogue in DATA_DIR), QDRANT_URL or DATA_DIR,
MODEL_REGISTRY_FILE and the seed variables (CLIP_COLLECTION, SIGLIP_COLLECTION, *_EMBEDDER_URL).
Exit status: 0 every collection passed, 1 a problem was found or a check failed, 2 bad arguments.`;

interface Args {
  models: string[];
  json: boolean;
  sample: number;
}

/** Parses the command line; a string is a usage error (empty for --help). */
function parse(argv: string[]): Args | string {
  const { values } = parseCommandLine({
    args: argv,
    options: {
      model: { type: 'string', multiple: true, default: [] },
      json: { type: 'boolean', default: false },
      sample: { type: 'string', default: '10' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return '';
  const sample = Number(values.sample);
  if (!Number.isInteger(sample) || sample < 0 || sample > 10_000) return '--sample must be an integer from 0 to 10000';
  return { models: values.model, json: values.json, sample };
}

/** The fingerprint a model's vectors must carry: the registry's pin, else its embedder's, else the collection's most common. */
async function expectedFingerprint(m: RegisteredModel, store: VectorStore): Promise<string | undefined> {
  if (m.fingerprint) return m.fingerprint;
  if (m.embedder) {
    const client = new EmbedderClient({ address: m.embedder, defaultDeadlineMs: 3000, retries: 0 });
    try {
      const fp = (await client.info()).fingerprint;
      if (fp) return fp;
    } catch {
      // Not running: fall back to what the collection says.
    } finally {
      client.close();
    }
  }
  return (await sampleCollectionTags(store, m.collection, 256)).tagged[0]?.fingerprint;
}

function line(r: CatalogueVerification): string {
  const head = `${r.passed ? 'ok  ' : 'FAIL'} ${r.model_id} (${r.collection}): ${r.points} vectors, catalogue ${r.catalogue_count}, coverage ${(r.coverage * 100).toFixed(1)}%`;
  const detail = r.problems.map((p) => `       - ${p}`);
  const samples = (['missing', 'extra', 'stale', 'wrong_fingerprint'] as const)
    .filter((k) => r[k].sample.length > 0)
    .map((k) => `       ${k}: ${r[k].sample.join(', ')}${r[k].count > r[k].sample.length ? ', …' : ''}`);
  return [head, ...detail, ...samples].join('\n');
}

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  if (typeof args === 'string') throw new UsageError(args);
  const { config, registry } = loadVerifyCatalogueConfig();
  for (const id of args.models) registry.require(id, '--model');
  const logger = createLogger('verify-cli', 'warn');
  const store = await createVectorStore({
    qdrantUrl: config.QDRANT_URL,
    qdrantApiKey: config.QDRANT_API_KEY,
    dataDir: config.DATA_DIR,
    logger,
  });
  const catalogue = await createAssetCatalogue({ url: config.CATALOGUE_URL, dataDir: config.DATA_DIR });
  try {
    const models = args.models.length
      ? args.models.map((id) => registry.require(id))
      : (
          await Promise.all(registry.list().map(async (m) => ((await store.exists(m.collection)) ? m : undefined)))
        ).filter((m): m is RegisteredModel => m !== undefined);
    const reports: CatalogueVerification[] = [];
    for (const m of models)
      reports.push(
        await verifyAgainstCatalogue({
          store,
          catalogue,
          collection: m.collection,
          modelId: m.id,
          expectedFingerprint: await expectedFingerprint(m, store),
          sampleLimit: args.sample,
        }),
      );
    if (args.json) process.stdout.write(`${JSON.stringify({ catalogue: catalogue.location, reports }, null, 2)}\n`);
    else {
      process.stdout.write(`catalogue: ${catalogue.location} (${await catalogue.count()} assets)\n`);
      for (const r of reports) process.stdout.write(`${line(r)}\n`);
      if (reports.length === 0) process.stdout.write('no registered model has a collection yet\n');
    }
    return reports.every((r) => r.passed) ? 0 : 1;
  } finally {
    await catalogue.close();
    await store.close();
  }
}

await runCli('verify', USAGE, main, { exit: true, describe: (err) => (isAppError(err) ? err.message : undefined) });
