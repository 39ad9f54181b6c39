import {
  Queue,
  Worker,
  UnrecoverableError,
  type ConnectionOptions,
  type Job,
  type JobsOptions,
  type WorkerOptions,
} from 'bullmq';
import { AppError } from '@image-search/service-kit';
import { JOB_NAMES, type JobCatalogue, type QueueName } from './catalogue.js';
import { DEFAULT_BACKOFF, JITTER_BACKOFF, jitterBackoffStrategy, type BackoffSettings } from './backoff.js';

/** Default BullMQ key prefix (QUEUE_PREFIX). */
export const DEFAULT_QUEUE_PREFIX = 'isearch';

/** A job name of queue Q. */
export type JobName<Q extends QueueName> = keyof JobCatalogue[Q] & string;
/** The payload of job N on queue Q. */
export type JobPayload<Q extends QueueName, N extends JobName<Q>> = JobCatalogue[Q][N];
/** Any payload of queue Q. */
export type AnyPayload<Q extends QueueName> = JobCatalogue[Q][JobName<Q>];
/** A BullMQ job of queue Q narrowed to name N. */
export type CatalogueJob<Q extends QueueName, N extends JobName<Q> = JobName<Q>> = Job<JobPayload<Q, N>, unknown, N>;

/** Where and how to connect: an ioredis connection (or options) and the key prefix. */
export interface QueueContext {
  connection: ConnectionOptions;
  prefix?: string;
}

/** Job options every catalogue job gets unless overridden: retries with jittered exponential backoff. */
export function defaultJobOptions(attempts = 8, backoff: BackoffSettings = DEFAULT_BACKOFF): JobsOptions {
  return {
    attempts,
    backoff: { type: JITTER_BACKOFF, delay: backoff.baseMs },
    removeOnComplete: { count: 1000 },
    removeOnFail: { count: 5000 },
  };
}

/** A Queue whose `add` accepts only catalogue names with their payload type. */
export class CatalogueQueue<Q extends QueueName> {
  constructor(
    readonly name: Q,
    readonly queue: Queue,
  ) {}

  /** Adds one job (a duplicate `jobId` adds nothing). */
  add<N extends JobName<Q>>(name: N, data: JobPayload<Q, N>, opts?: JobsOptions): Promise<Job> {
    return this.queue.add(name, data, opts);
  }

  /** Adds several jobs in one round trip (duplicates of existing job ids add nothing). */
  addBulk<N extends JobName<Q>>(jobs: { name: N; data: JobPayload<Q, N>; opts?: JobsOptions }[]): Promise<Job[]> {
    return this.queue.addBulk(jobs);
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

/** Creates a typed queue for a catalogue queue under the configured prefix. */
export function createCatalogueQueue<Q extends QueueName>(
  name: Q,
  ctx: QueueContext & { defaultJobOptions?: JobsOptions },
): CatalogueQueue<Q> {
  const queue = new Queue(name, {
    connection: ctx.connection,
    prefix: ctx.prefix ?? DEFAULT_QUEUE_PREFIX,
    defaultJobOptions: ctx.defaultJobOptions ?? defaultJobOptions(),
  });
  return new CatalogueQueue(name, queue);
}

/** One handler per job name of queue Q; the handler gets the job narrowed to its name. */
export type CatalogueHandlers<Q extends QueueName> = {
  [N in JobName<Q>]: (
    job: CatalogueJob<Q, N>,
    token: string | undefined,
    signal: AbortSignal | undefined,
  ) => Promise<unknown>;
};

/** Names of the queue's jobs that have no handler (empty when complete). */
export function missingHandlers<Q extends QueueName>(queue: Q, handlers: Partial<Record<string, unknown>>): string[] {
  return (JOB_NAMES[queue] as readonly string[]).filter((n) => typeof handlers[n] !== 'function');
}

/**
 * Creates a Worker for a catalogue queue. Refuses (INVALID_CONFIG) when a job name of the queue has
 * no handler, so a deploy that forgot one fails at start instead of failing jobs later. A job whose
 * name is not in the catalogue fails as unrecoverable.
 */
export function createCatalogueWorker<Q extends QueueName>(
  queue: Q,
  handlers: CatalogueHandlers<Q>,
  ctx: QueueContext & { backoff?: BackoffSettings; workerOptions?: Omit<WorkerOptions, 'connection' | 'prefix'> },
): Worker {
  const missing = missingHandlers(queue, handlers as Partial<Record<string, unknown>>);
  if (missing.length > 0) {
    throw new AppError(
      'INVALID_CONFIG',
      `Worker for queue '${queue}' has no handler for job(s): ${missing.join(', ')}. Every job name in libs/jobs catalogue needs one.`,
      {
        details: { queue, missing },
      },
    );
  }
  const table = handlers as unknown as Record<
    string,
    (job: Job, token: string | undefined, signal: AbortSignal | undefined) => Promise<unknown>
  >;
  return new Worker(
    queue,
    async (job: Job, token?: string, signal?: AbortSignal) => {
      const handler = table[job.name];
      if (!handler) throw new UnrecoverableError(`job name '${job.name}' is not in the catalogue of queue '${queue}'`);
      return handler(job, token, signal);
    },
    {
      ...ctx.workerOptions,
      connection: ctx.connection,
      prefix: ctx.prefix ?? DEFAULT_QUEUE_PREFIX,
      settings: { ...ctx.workerOptions?.settings, backoffStrategy: jitterBackoffStrategy(ctx.backoff) },
    },
  );
}
