// tools:reembed: starts and steers the SigLIP re-embedding run and shows its progress.
//   npx nx run tools:reembed -- start [--batch-size 100] [--only-missing] | status [--follow] | pause | resume | cancel | verify | retry-failed
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import cliProgress from 'cli-progress';
import { z } from 'zod';
import { createLogger, env, isAppError, parseConfig } from '@image-search/service-kit';
import { createVectorStore, type VectorStore } from '@image-search/vector-store';
import {
  describePersistence,
  NO_PERSISTENCE_ADVICE,
  ReembedControl,
  redisPersistence,
  type RedisPersistence,
  type ReembedStatus,
} from '@image-search/jobs';
import { loadModelRegistry, servingPair } from '@image-search/model-registry';
import { createAssetCatalogue, type AssetCatalogue } from '@image-search/asset-catalogue';
import { recordMigration } from './models/model-lifecycle.js';

const USAGE = `reembed: re-embed the CLIP collection's images into the SigLIP collection, resumably

usage: npx nx run tools:reembed -- <command> [options]

commands:
  start [--from A] [--to B] [--batch-size N] [--only-missing] [--detach]
                   start a run from model A's collection into model B's (registered model ids;
                   default: the serving pair, at first the seed's CLIP -> SigLIP; after a retirement
                   A defaults to the model that replaced it and B must be given) and follow it with a
                   progress bar; records A -> B as the serving pair every gateway and worker follows
  status [--follow] [--json]
                   the run's state, counts, rate, ETA, coverage, last error and failed items
  pause | resume | cancel
                   steer the run (workers finish their current batch on pause/cancel)
  verify [--detach] compare CLIP and SigLIP: counts, id sets, vector dimension and norm; exit 3 if it fails
  retry-failed [--detach]
                   re-enqueue the run's failed items (or resume an interrupted plan), then verify

Runs are executed by reembed-worker replicas (apps/reembed-worker); this tool only talks to Redis
and reads collection counts. Environment: REDIS_URL, QUEUE_PREFIX (default isearch), QDRANT_URL /
QDRANT_API_KEY or DATA_DIR (default ./data), CATALOGUE_URL, MODEL_REGISTRY_FILE, CLIP_COLLECTION,
SIGLIP_COLLECTION. Workers migrate the pair a run names; a model they do not know fails it at planning.
Exit status: 0 done, 1 failed or error, 2 bad arguments, 3 verification failed.`;

const configSchema = z.object({
  REDIS_URL: env.str('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: env.str('isearch'),
  DATA_DIR: env.str('./data'),
  QDRANT_URL: env.optStr(),
  QDRANT_API_KEY: env.optStr(),
  CATALOGUE_URL: env.optStr(),
  CLIP_COLLECTION: env.str('image_assets'),
  SIGLIP_COLLECTION: env.str('image_assets_siglip'),
  MODEL_REGISTRY_FILE: env.optStr(),
  /** Milliseconds between status polls while following (a line every 5 polls when not a terminal). */
  REEMBED_POLL_MS: env.int(1000, 50, 60_000),
});

const COMMANDS = ['start', 'status', 'pause', 'resume', 'cancel', 'verify', 'retry-failed'] as const;
type Command = (typeof COMMANDS)[number];
interface Args {
  command: Command;
  batchSize: number;
  onlyMissing: boolean;
  follow: boolean;
  json: boolean;
  detach: boolean;
  from: string | undefined;
  to: string | undefined;
}

/** Parses the command line; a string is a usage error (empty for --help). */
export function parseReembedArgs(argv: string[]): Args | string {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'batch-size': { type: 'string' },
        'only-missing': { type: 'boolean', default: false },
        follow: { type: 'boolean', short: 'f', default: false },
        json: { type: 'boolean', default: false },
        detach: { type: 'boolean', default: false },
        from: { type: 'string' },
        to: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    return (err as Error).message;
  }
  const { values, positionals } = parsed;
  if (values.help) return '';
  const command = positionals[0];
  if (!command) return `missing command (one of ${COMMANDS.join(', ')})`;
  if (!(COMMANDS as readonly string[]).includes(command))
    return `unknown command ${JSON.stringify(command)} (one of ${COMMANDS.join(', ')})`;
  if (positionals.length > 1) return `unexpected argument ${JSON.stringify(positionals[1])}`;
  let batchSize = 100;
  if (values['batch-size'] !== undefined) {
    batchSize = Number(values['batch-size']);
    if (!/^\d+$/.test(values['batch-size']) || batchSize < 1 || batchSize > 10_000)
      return `--batch-size must be an integer from 1 to 10000 (got ${JSON.stringify(values['batch-size'])})`;
  }
  if (command !== 'start' && (values['batch-size'] !== undefined || values['only-missing']))
    return '--batch-size and --only-missing belong to start';
  if (command !== 'start' && (values.from !== undefined || values.to !== undefined))
    return '--from and --to belong to start (status and the other commands follow the current run)';
  if (values.from !== undefined && values.from === values.to)
    return `--from and --to name the same model (${values.from})`;
  if (values.follow && command !== 'status')
    return '--follow belongs to status (start, verify and retry-failed follow by default; --detach turns that off)';
  return {
    command: command as Command,
    batchSize,
    onlyMissing: values['only-missing'],
    follow: values.follow,
    json: values.json,
    detach: values.detach,
    from: values.from,
    to: values.to,
  };
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'idle']);

/** A duration for people: 1h02m, 3m05s, 42s. */
export function formatDuration(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '--';
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

/** The status as lines of text. */
export function formatStatus(s: ReembedStatus): string {
  const pct = s.total > 0 ? ` (${(((s.done + s.failed + s.skipped) / s.total) * 100).toFixed(1)}%)` : '';
  const lines = [
    `run:        ${s.run_id ?? '(none yet)'}  state: ${s.state}${s.to_model ? `  ${s.from_model} -> ${s.to_model}` : ''}`,
    `progress:   ${s.done} done, ${s.failed} failed, ${s.skipped} skipped of ${s.total}${pct}; batches ${s.batches_done}/${s.batches_total}${s.batches_failed ? ` (${s.batches_failed} failed)` : ''}`,
    `rate:       ${s.rate_per_s} images/s, ETA ${formatDuration(s.eta_s)}`,
    `coverage:   ${s.coverage === null ? (s.source_count === 0 ? 'n/a (the CLIP collection is empty)' : 'unknown') : `${(s.coverage * 100).toFixed(2)}%`} (SigLIP ${s.target_count ?? '?'} / CLIP ${s.source_count ?? '?'} points)`,
    `started:    ${s.started_at ?? '-'}   updated: ${s.updated_at ?? '-'}${s.finished_at ? `   finished: ${s.finished_at}` : ''}`,
  ];
  if (s.last_error) lines.push(`last error: ${s.last_error}`);
  if (s.failed_sample.length > 0) {
    lines.push(`failed items (first ${s.failed_sample.length} of ${s.failed}; retry-failed re-tries them):`);
    for (const f of s.failed_sample) lines.push(`  ${f.asset_id}  ${f.reason}  ${f.message}`);
  }
  if (s.verification) {
    const v = s.verification;
    lines.push(
      `verification (${v.checked_at}): ${v.passed ? 'PASSED' : 'FAILED'}; ${v.source_collection} ${v.source_count} vs ${v.target_collection} ${v.target_count} points; ${v.vectors.checked} vectors checked, ${v.vectors.bad} bad`,
    );
    for (const p of v.problems) lines.push(`  - ${p}`);
  }
  return lines.join('\n');
}

/**
 * What to tell the operator when a run's state is gone from Redis: `vanished` is the run id this
 * command saw disappear; without it, an idle status whose target collection is partly filled is the
 * sign (a run was started, or ingest dual-wrote, and nothing in Redis records it). Undefined when
 * there is nothing to say.
 */
export function lostRunMessage(
  s: ReembedStatus,
  persistence: RedisPersistence,
  names: { source: string; target: string },
  vanished?: string,
): string | undefined {
  if (s.run_id !== null) return undefined;
  const partly =
    s.target_count !== null && s.source_count !== null && s.target_count > 0 && s.target_count < s.source_count;
  if (!vanished && !partly) return undefined;
  const counts =
    s.target_count !== null && s.source_count !== null
      ? `${names.target} holds ${s.target_count} of the ${s.source_count} points of ${names.source}`
      : `the counts of ${names.target} and ${names.source} are unknown`;
  const persist = describePersistence(persistence);
  const lines = [
    vanished
      ? `run ${vanished} vanished from Redis while this command was following it: Redis lost its data (a restart or a flush); ${counts}.`
      : `no re-embedding run is recorded in Redis, yet ${counts}: if a run was started, its state vanished from Redis (Redis lost its data: a restart or a flush).`,
    persistence.aof === false && persistence.rdb === false
      ? `This Redis keeps nothing across a restart (persistence: ${persist}): ${NO_PERSISTENCE_ADVICE}.`
      : `Redis persistence: ${persist}; make sure it keeps its data across restarts (${NO_PERSISTENCE_ADVICE}).`,
    `To finish the migration: npx nx run tools:reembed -- start --only-missing   (re-embeds only the ids missing from ${names.target}, then verifies)`,
  ];
  return lines.join('\n');
}

async function follow(
  control: ReembedControl,
  pollMs: number,
  until: (s: ReembedStatus) => boolean,
): Promise<ReembedStatus & { vanished?: string }> {
  const bar = new cliProgress.SingleBar(
    {
      format: '{bar} {percentage}% | {value}/{total} | {rate}/s | ETA {eta_h} | {state}, {failed} failed',
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: pollMs * 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let s = await control.status();
  bar.start(Math.max(1, s.total), 0, { rate: 0, eta_h: '--', state: s.state, failed: 0 });
  let stop = false;
  let seen = s.run_id;
  let vanished: string | undefined;
  const onSigint = () => (stop = true);
  process.once('SIGINT', onSigint);
  try {
    for (;;) {
      bar.setTotal(Math.max(1, s.total));
      bar.update(s.done + s.failed + s.skipped, {
        rate: s.rate_per_s,
        eta_h: formatDuration(s.eta_s),
        state: s.state,
        failed: s.failed,
      });
      if (until(s) || stop) break;
      if (s.run_id !== null) seen = s.run_id;
      await new Promise((r) => setTimeout(r, pollMs));
      // A Redis restart should not end the watch: keep the last status and poll again.
      s = await control.status().catch((err: unknown) => {
        if (!isAppError(err, 'UNAVAILABLE')) throw err;
        bar.update({ state: 'Redis unreachable, retrying' });
        return s;
      });
      if (seen !== null && s.run_id === null) {
        vanished = seen;
        break;
      }
    }
  } finally {
    bar.stop();
    process.removeListener('SIGINT', onSigint);
  }
  if (stop) console.log('stopped following; the run goes on in the workers (status --follow to watch again)');
  return vanished ? { ...s, vanished } : s;
}

async function main(): Promise<number> {
  const args = parseReembedArgs(process.argv.slice(2));
  if (typeof args === 'string') {
    if (args) console.error(`error: ${args}\n`);
    console.error(USAGE);
    return args ? 2 : 0;
  }
  const config = parseConfig(configSchema);
  const logger = createLogger('reembed-cli', 'warn');
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2, connectTimeout: 5000, lazyConnect: true });
  redis.on('error', () => undefined);
  let store: VectorStore | undefined;
  let catalogue: AssetCatalogue | undefined;
  let control: ReembedControl | undefined;
  try {
    await redis.connect().catch((err: Error) => {
      throw new Error(`cannot reach Redis at REDIS_URL (${err.message}); is it running?`);
    });
    store = await createVectorStore({
      qdrantUrl: config.QDRANT_URL,
      qdrantApiKey: config.QDRANT_API_KEY,
      dataDir: config.DATA_DIR,
      logger,
    });
    catalogue = await createAssetCatalogue({ url: config.CATALOGUE_URL, dataDir: config.DATA_DIR });
    // Registered model ids name the pair; their collections come from the registry. The defaults are
    // the serving pair (the recorded model state's, else the registry's rollout pair).
    const registry = loadModelRegistry(config);
    const serving = servingPair(registry, await catalogue.readModelState());
    const from = registry.require(args.from ?? serving.from.id, '--from');
    const toId = args.to ?? serving.to?.id;
    if (args.command === 'start' && !toId)
      throw new Error(
        `nothing is being migrated to: '${serving.from.id}' serves alone since its predecessor was retired; pass --to MODEL (a registered model id)`,
      );
    const to = registry.require(toId ?? registry.pair.to.id, '--to');
    if (args.command === 'start') await recordMigration({ registry, catalogue, store }, from.id, to.id);
    control = new ReembedControl({
      redis,
      prefix: config.QUEUE_PREFIX,
      store,
      sourceCollection: from.collection,
      targetCollection: to.collection,
      models: { from: from.id, to: to.id },
      failedSampleSize: 10,
    });
    const print = (s: ReembedStatus) => console.log(args.json ? JSON.stringify(s, null, 2) : formatStatus(s));
    const printed = (s: ReembedStatus) => {
      print(s);
      return 0;
    };
    const names = { source: from.collection, target: to.collection };
    const lost = async (s: ReembedStatus, vanished?: string) =>
      lostRunMessage(s, await redisPersistence(redis), names, vanished);
    const finish = async (s: ReembedStatus, what: string) => {
      if (args.detach || args.json) return printed(s);
      const end = await follow(control!, config.REEMBED_POLL_MS, (x) => TERMINAL.has(x.state));
      print(end);
      if (end.vanished) {
        console.error(`\n${await lost(end, end.vanished)}`);
        return 1;
      }
      if (!TERMINAL.has(end.state)) return 0;
      console.log(
        end.state === 'completed' ? `\n${what}: completed, verification passed.` : `\n${what}: ${end.state}.`,
      );
      if (end.state === 'completed') return 0;
      return end.verification && !end.verification.passed ? 3 : 1;
    };
    switch (args.command) {
      case 'start': {
        if (!args.onlyMissing) {
          const before = await control.status();
          const note = before.state === 'idle' ? await lost(before) : undefined;
          if (note) console.log(`note: ${note}\nStarting a full run anyway (it re-embeds every id).`);
        }
        const { started, status } = await control.start({ batchSize: args.batchSize, onlyMissing: args.onlyMissing });
        console.log(
          started
            ? `started run ${status.run_id} (batch size ${args.batchSize}${args.onlyMissing ? ', only missing ids' : ''})`
            : `run ${status.run_id} is already ${status.state}; following it (cancel it first to start another)`,
        );
        return await finish(status, 'run');
      }
      case 'status': {
        const s: ReembedStatus & { vanished?: string } = args.follow
          ? await follow(control, config.REEMBED_POLL_MS, (x) => TERMINAL.has(x.state))
          : await control.status();
        const vanished = s.vanished;
        const note = await lost(s, vanished);
        if (args.json) {
          console.log(JSON.stringify(note ? { ...s, lost_run: note } : s, null, 2));
          return vanished ? 1 : 0;
        }
        print(s);
        if (note) console.error(`\n${note}`);
        return vanished ? 1 : 0;
      }
      case 'pause':
        return printed(await control.pause());
      case 'resume':
        return printed(await control.resume());
      case 'cancel':
        return printed(await control.cancel());
      case 'verify':
        console.log('verification requested; a worker runs it');
        return await finish(await control.verify(), 'verify');
      case 'retry-failed': {
        const { retried, status } = await control.retryFailed();
        console.log(
          retried > 0
            ? `re-enqueued ${retried} failed item(s)`
            : status.planning_done
              ? 'no failed items to retry'
              : 'resuming the interrupted plan from its checkpoint',
        );
        if (retried === 0 && status.planning_done) return printed(status);
        return await finish(status, 'retry');
      }
    }
    return 2;
  } catch (err) {
    console.error(`error: ${isAppError(err) ? `${err.code}: ${err.message}` : (err as Error).message}`);
    return 1;
  } finally {
    await control?.close().catch(() => undefined);
    await store?.close().catch(() => undefined);
    await catalogue?.close().catch(() => undefined);
    redis.disconnect();
  }
}

process.exitCode = await main();
