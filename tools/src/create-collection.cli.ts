// tools:create-collection: creates (idempotently), previews or checks a model's vector collection, against
// Qdrant (QDRANT_URL) or the embedded engine (DATA_DIR). Step 1 of the SigLIP quick start.
//   npx nx run tools:create-collection -- --model siglip|clip [--dry-run | --check] [--dim N]
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createLogger, isAppError, parseCommandLine, runCli, UsageError } from '@image-search/service-kit';
import {
  collectionSchema,
  describeDifferences,
  diffCollection,
  type CollectionSchema,
  type ModelFamily,
  type SchemaDifference,
} from '@image-search/collection-schema';
import { createVectorStore, type CollectionInfo, type VectorStore } from '@image-search/vector-store';
import { loadCreateCollectionConfig, type CreateCollectionConfig } from './create-collection.config.js';

const USAGE = `create-collection: create, preview or check a model's vector collection

usage: npx nx run tools:create-collection -- --model siglip|clip [--dry-run | --check] [--dim N]

  --model M     siglip (default name image_assets_siglip, 768 dims) or clip (image_assets, 512 dims)
  --dry-run     print what would be created and change nothing
  --check       print the collection's details; exit 1 when it is missing or differs from the schema
  --dim N       vector size for another model (default SIGLIP_EMBEDDING_DIM / CLIP_EMBEDDING_DIM)
  -h, --help

Environment: QDRANT_URL (+ QDRANT_API_KEY) selects Qdrant; otherwise the embedded engine in DATA_DIR
(default ./data). CLIP_COLLECTION / SIGLIP_COLLECTION override the names.
Exit status: 0 done / matches, 1 missing, different or failed, 2 bad arguments.`;

type Mode = 'create' | 'dry-run' | 'check';
interface Args {
  family: ModelFamily;
  mode: Mode;
  dim: number | undefined;
}

/** Parses the command line; a string is a usage error (empty for --help). */
function parse(argv: string[]): Args | string {
  const { values } = parseCommandLine({
    args: argv,
    options: {
      model: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      check: { type: 'boolean', default: false },
      dim: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return '';
  if (values.model !== 'siglip' && values.model !== 'clip')
    return `--model must be siglip or clip${values.model ? ` (got ${JSON.stringify(values.model)})` : ''}`;
  if (values['dry-run'] && values.check) return '--dry-run and --check exclude each other';
  let dim: number | undefined;
  if (values.dim !== undefined) {
    dim = Number(values.dim);
    if (!/^\d+$/.test(values.dim) || dim < 1 || dim > 65536)
      return `--dim must be an integer between 1 and 65536 (got ${JSON.stringify(values.dim)})`;
  }
  return { family: values.model, mode: values['dry-run'] ? 'dry-run' : values.check ? 'check' : 'create', dim };
}

const LABEL: Record<ModelFamily, string> = { clip: 'CLIP', siglip: 'SigLIP' };

function header(verb: string, schema: CollectionSchema, config: CreateCollectionConfig): string[] {
  return [
    `${verb} ${LABEL[schema.family]} collection...`,
    `  Collection name: ${schema.name}`,
    `  Embedding dimension: ${schema.vectorSize}`,
    config.QDRANT_URL
      ? `  Qdrant URL: ${config.QDRANT_URL}`
      : `  Data folder: ${resolve(config.DATA_DIR)} (embedded engine)`,
  ];
}

function details(info: CollectionInfo): string[] {
  return [
    'Collection details:',
    `  Status: ${info.status}`,
    `  Points: ${info.pointCount}`,
    `  Vector size: ${info.vectorSize}`,
    `  Distance: ${info.distance.toUpperCase()}`,
    `  Quantization enabled: ${info.quantization ? 'True' : 'False'}${info.quantization ? ` (${info.quantization.type}${info.quantization.quantile !== undefined ? `, quantile ${info.quantization.quantile}` : ''})` : ''}`,
    `  HNSW m: ${info.hnsw?.m ?? 'n/a'}`,
    `  HNSW ef_construct: ${info.hnsw?.efConstruct ?? 'n/a'}`,
    `  Indexed: ${info.indexed ? 'yes' : 'not yet (exact search until the collection is large enough)'}`,
  ];
}

function differences(schema: CollectionSchema, diffs: SchemaDifference[]): string[] {
  return [
    `✗ Collection '${schema.name}' differs from the schema:`,
    ...describeDifferences(schema.name, diffs)
      .split('\n')
      .map((l) => `  - ${l}`),
    '  (drop and recreate it, or fix the configuration: the model, --dim, or the collection name)',
  ];
}

async function dryRun(
  schema: CollectionSchema,
  config: CreateCollectionConfig,
  open: () => Promise<VectorStore>,
): Promise<number> {
  const out = header('Dry run: would create', schema, config);
  out.push(
    `  Distance: ${schema.distance.toUpperCase()}`,
    `  Quantization: ${schema.quantization.type} (quantile ${schema.quantization.quantile}, ${schema.quantization.alwaysRam ? 'kept in RAM' : 'on disk'})`,
    `  HNSW m: ${schema.hnsw.m}`,
    `  HNSW ef_construct: ${schema.hnsw.efConstruct}`,
    `  Payload indexes: ${schema.payloadIndexes.map((p) => `${p.field} (${p.type})`).join(', ')}`,
    '',
  );
  // Opening the embedded engine on a folder that does not exist yet would be a change: don't.
  const store = config.QDRANT_URL || existsSync(resolve(config.DATA_DIR)) ? await open() : undefined;
  try {
    if (!store || !(await store.exists(schema.name))) {
      out.push(`Collection '${schema.name}' does not exist: a plain run would create it. Nothing was changed.`);
    } else {
      const info = await store.info(schema.name);
      const diffs = diffCollection(schema, info);
      out.push(
        diffs.length
          ? differences(schema, diffs).join('\n')
          : `Collection '${schema.name}' already exists and matches the schema: a plain run would change nothing.`,
        'Nothing was changed.',
      );
    }
  } finally {
    await store?.close();
  }
  console.log(out.join('\n'));
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const args = parse(argv);
  if (typeof args === 'string') throw new UsageError(args);
  const config = loadCreateCollectionConfig();
  const name = args.family === 'clip' ? config.CLIP_COLLECTION : config.SIGLIP_COLLECTION;
  const dim = args.dim ?? (args.family === 'clip' ? config.CLIP_EMBEDDING_DIM : config.SIGLIP_EMBEDDING_DIM);
  const schema = collectionSchema(args.family, { name, vectorSize: dim });
  const logger = createLogger('create-collection', config.LOG_LEVEL as 'warn', process.stderr);
  const open = () =>
    createVectorStore({
      qdrantUrl: config.QDRANT_URL,
      qdrantApiKey: config.QDRANT_API_KEY,
      dataDir: resolve(config.DATA_DIR),
      logger,
    });

  if (args.mode === 'dry-run') return dryRun(schema, config, open);

  const store = await open();
  try {
    if (args.mode === 'check') {
      console.log([...header('Checking', schema, config), ''].join('\n'));
      if (!(await store.exists(schema.name))) {
        console.log(
          `✗ Collection '${schema.name}' does not exist; create it with: npx nx run tools:create-collection -- --model ${args.family}`,
        );
        return 1;
      }
      const info = await store.info(schema.name);
      const diffs = diffCollection(schema, info);
      console.log(
        [
          diffs.length ? differences(schema, diffs).join('\n') : `✓ Collection '${schema.name}' matches the schema`,
          '',
          ...details(info),
        ].join('\n'),
      );
      return diffs.length ? 1 : 0;
    }
    console.log([...header('Creating', schema, config), ''].join('\n'));
    const { created, info } = await store.ensureCollection(schema);
    console.log(
      [
        created
          ? `✓ Collection '${schema.name}' created successfully`
          : `✓ Collection '${schema.name}' already exists and matches the schema (nothing changed)`,
        '',
        ...details(info),
      ].join('\n'),
    );
    return 0;
  } finally {
    await store.close();
  }
}

await runCli('create-collection', USAGE, () => main(process.argv.slice(2)), {
  describe: (err) =>
    isAppError(err, 'SCHEMA_MISMATCH')
      ? `✗ ${err.message}\n  (drop and recreate the collection, or fix the configuration)`
      : undefined,
});
