// tools:evaluate: offline retrieval evaluation of every registered model on the user's own library.
//   npx nx run tools:evaluate -- --judgments FILE.jsonl [--json OUT] [--report DIR]
import { writeFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import { AppError, createLogger, isAppError, parseCommandLine, runCli, UsageError } from '@image-search/service-kit';
import { EmbedderClient } from '@image-search/embedder-client';
import { createAssetCatalogue } from '@image-search/asset-catalogue';
import { createVectorStore } from '@image-search/vector-store';
import type { RegisteredModel } from '@image-search/model-registry';
import { loadEvaluateConfig } from './evaluate/evaluate.config.js';
import { judgmentsFromFolders, parseCocoCaptions, parseJudgmentsJsonl, readInput } from './evaluate/judgments.js';
import { catalogueEntries, resolveJudgments } from './evaluate/resolve-relevant.js';
import { evaluateModels, type EvaluatedArm } from './evaluate/run-evaluation.js';
import { terminalReport, writeReport } from './evaluate/report.js';

const USAGE = `evaluate: offline retrieval quality of every registered model on your own library

usage: npx nx run tools:evaluate -- (--judgments FILE.jsonl | --coco CAPTIONS.json --images DIR | --from-folders)
                                    [--model ID ...] [--json OUT] [--report DIR] [--iterations N] [--seed N]

  --judgments FILE   JSONL, one query a line: {"query": "a dog on the beach", "relevant": ["<asset id or path
                     relative to its asset root>", ...], "grades": {"<same>": 2}, "slice": "en"} (grades, slice optional)
  --coco FILE        COCO-style captions ({"images": [{id, file_name}], "annotations": [{image_id, caption}]}):
                     each caption is a query whose relevant asset is its image; needs --images DIR (the image folder)
  --from-folders     WEAK labels: one query per folder (its name), relevant = every asset in that folder. A folder
                     name says where a file was filed, not what it shows: use it for a first look, not a verdict
  --model ID         a registered model to evaluate (repeatable; default: every model with an embedder and a collection)
  --json OUT         write the results as JSON ({"models": {...}, "difference": {...}, "queries": N, "slices": {...}})
  --report DIR       write DIR/report.md, DIR/chart.svg (bar chart with 95 % intervals) and DIR/results.json
  --iterations N     bootstrap resamples and permutations (default 2000)
  --seed N           resampling seed (default 1; the same seed gives the same intervals)
  -h, --help

Each query runs on each model through the gateway's search path (the model's embedder, then its collection, first
10 hits). Reported per model: recall@1/5/10, MRR, nDCG@10 with 95 % bootstrap intervals, zero-result rate, latency
p50/p95; per pair of models the paired difference with its interval and a permutation-test p-value; per slice.
Environment (load the running stack's with: set -a; . data/demo/stack.env; set +a): DATA_DIR or QDRANT_URL,
CATALOGUE_URL, MODEL_REGISTRY_FILE, CLIP_EMBEDDER_URL, SIGLIP_EMBEDDER_URL and the other seed model variables.
Exit status: 0 done, 1 failed, 2 bad arguments.`;

interface Args {
  source: { kind: 'jsonl'; file: string } | { kind: 'coco'; file: string; images: string } | { kind: 'folders' };
  models: string[];
  json: string | undefined;
  report: string | undefined;
  iterations: number;
  seed: number;
}

function parse(argv: string[]): Args {
  const { values } = parseCommandLine({
    args: argv,
    options: {
      judgments: { type: 'string' },
      coco: { type: 'string' },
      images: { type: 'string' },
      'from-folders': { type: 'boolean', default: false },
      model: { type: 'string', multiple: true, default: [] },
      json: { type: 'string' },
      report: { type: 'string' },
      iterations: { type: 'string', default: '2000' },
      seed: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) throw new UsageError('');
  const given = [values.judgments, values.coco, values['from-folders'] || undefined].filter((v) => v !== undefined);
  if (given.length !== 1) throw new UsageError('give exactly one of --judgments, --coco or --from-folders');
  if (values.coco && !values.images) throw new UsageError('--coco needs --images DIR (the folder of the images)');
  const iterations = Number(values.iterations);
  if (!Number.isInteger(iterations) || iterations < 100 || iterations > 100_000)
    throw new UsageError('--iterations must be an integer from 100 to 100000');
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new UsageError('--seed must be an integer');
  return {
    source: values.judgments
      ? { kind: 'jsonl', file: values.judgments }
      : values.coco
        ? { kind: 'coco', file: values.coco, images: values.images! }
        : { kind: 'folders' },
    models: values.model,
    json: values.json,
    report: values.report,
    iterations,
    seed,
  };
}

/** done/total, rate and ETA on stderr (a bar on a terminal, a line every few seconds otherwise). */
function progressBar(): { update: (done: number, total: number) => void; stop: () => void } {
  const started = performance.now();
  const bar = new cliProgress.SingleBar(
    {
      format: 'evaluate {bar} {value}/{total} searches | {rate}/s | ETA {eta_formatted}',
      stream: process.stderr,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let begun = false;
  return {
    update: (done, total) => {
      const rate = (done / Math.max(0.001, (performance.now() - started) / 1000)).toFixed(1);
      if (!begun) {
        bar.start(total, 0, { rate });
        begun = true;
      }
      bar.update(done, { rate });
    },
    stop: () => {
      if (begun) bar.stop();
    },
  };
}

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  const { config, registry } = loadEvaluateConfig();
  for (const id of args.models) registry.require(id, '--model');
  const logger = createLogger('evaluate-cli', 'warn');
  const store = await createVectorStore({
    qdrantUrl: config.QDRANT_URL,
    qdrantApiKey: config.QDRANT_API_KEY,
    dataDir: config.DATA_DIR,
    logger,
  });
  const catalogue = await createAssetCatalogue({ url: config.CATALOGUE_URL, dataDir: config.DATA_DIR });
  const clients: EmbedderClient[] = [];
  try {
    const entries = await catalogueEntries(catalogue);
    if (entries.length === 0)
      throw new AppError(
        'FAILED_PRECONDITION',
        'the asset catalogue is empty: ingest images first (or point DATA_DIR at the stack)',
      );
    const raw =
      args.source.kind === 'jsonl'
        ? parseJudgmentsJsonl(await readInput(args.source.file, '--judgments'), args.source.file)
        : args.source.kind === 'coco'
          ? parseCocoCaptions(await readInput(args.source.file, '--coco'), args.source.file, args.source.images)
          : judgmentsFromFolders(entries);
    const { queries, report } = resolveJudgments(raw, entries);
    if (report.unresolvedCount)
      process.stderr.write(
        `evaluate: ${report.unresolvedCount} relevant item(s) match no catalogued asset, e.g. ${report.unresolved.slice(0, 5).join(', ')}\n`,
      );
    if (report.ambiguous.length)
      process.stderr.write(
        `evaluate: ambiguous relative paths (several assets end with them; give the asset id or more of the path): ${report.ambiguous.slice(0, 5).join(', ')}\n`,
      );
    if (report.droppedQueries.length)
      process.stderr.write(
        `evaluate: ${report.droppedQueries.length} quer(y/ies) left out: none of their assets found\n`,
      );
    if (queries.length === 0)
      throw new AppError('FAILED_PRECONDITION', 'no query has a relevant asset in the catalogue');
    const chosen: RegisteredModel[] = args.models.length
      ? args.models.map((id) => registry.require(id))
      : (
          await Promise.all(
            registry.list().map(async (m) => (m.embedder && (await store.exists(m.collection)) ? m : undefined)),
          )
        ).filter((m): m is RegisteredModel => m !== undefined);
    if (chosen.length === 0)
      throw new AppError('FAILED_PRECONDITION', 'no registered model has both an embedder and a collection');
    const arms: EvaluatedArm[] = chosen.map((model) => {
      if (!model.embedder)
        throw new AppError('FAILED_PRECONDITION', `model ${model.id} has no embedder address configured`);
      const embedder = new EmbedderClient({ address: model.embedder, defaultDeadlineMs: config.EMBEDDER_DEADLINE_MS });
      clients.push(embedder);
      return { model, embedder };
    });
    const bar = progressBar();
    const { result } = await evaluateModels({
      queries,
      arms,
      store,
      deadlineMs: config.EMBEDDER_DEADLINE_MS,
      iterations: args.iterations,
      seed: args.seed,
      onProgress: bar.update,
    }).finally(() => bar.stop());
    process.stdout.write(terminalReport(result));
    if (args.json) {
      await writeFile(args.json, `${JSON.stringify(result, null, 2)}\n`);
      process.stdout.write(`\nJSON: ${args.json}\n`);
    }
    if (args.report) {
      const source =
        args.source.kind === 'folders' ? 'folder names (weak labels)' : `${args.source.file} (${args.source.kind})`;
      const files = await writeReport(args.report, result, { source, generatedAt: new Date().toISOString() });
      process.stdout.write(`report: ${files.join(', ')}\n`);
    }
    return 0;
  } finally {
    for (const c of clients) c.close();
    await catalogue.close();
    await store.close();
  }
}

await runCli('evaluate', USAGE, main, {
  exit: true,
  describe: (err) => (isAppError(err) ? err.message : undefined),
});
