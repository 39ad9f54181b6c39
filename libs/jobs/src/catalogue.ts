/**
 * The typed catalogue of every queue, job name and payload in the system. Producers and
 * workers import names and payload types from here only; a worker refuses to start when a
 * job name of its queue has no handler.
 */

/** BullMQ queue names (the Redis key prefix is configured separately, QUEUE_PREFIX). */
export const QUEUES = {
  reembed: 'reembed',
  ingest: 'ingest',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** Fields every job payload carries. */
export interface JobBase {
  /** Correlation id of the request that caused the job (logs across services). */
  correlationId?: string;
}

/** Re-embedding run: plan (scroll CLIP, enqueue batches), batch (embed + upsert), verify. */
export interface ReembedPlanPayload extends JobBase {
  runId: string;
  batchSize: number;
  onlyMissing: boolean;
}
export interface ReembedBatchPayload extends JobBase {
  runId: string;
  /** Sequence number of the batch within the run (deterministic job id). */
  batchNo: number;
  assetIds: string[];
}
export interface ReembedVerifyPayload extends JobBase {
  runId: string;
}

/** Ingestion: scan a folder under the allowed roots, then embed and upsert files in batches. */
export interface IngestScanPayload extends JobBase {
  ingestId: string;
  rootPath: string;
  recursive: boolean;
  extensions: string[];
}
/** One file of an ingest batch: its real path and the asset id it is (or becomes) in every collection. */
export interface IngestFile {
  path: string;
  /** The catalogue's id for this path; for a new file sha256(path), for a moved file the id it had. */
  assetId: string;
  /** Set when the file is a moved asset: the path the catalogue had for it (same content hash). */
  movedFrom?: string;
}
export interface IngestBatchPayload extends JobBase {
  ingestId: string;
  batchNo: number;
  files: IngestFile[];
}

/** Job name → payload type, per queue. */
export interface JobCatalogue {
  reembed: {
    'reembed.plan': ReembedPlanPayload;
    'reembed.batch': ReembedBatchPayload;
    'reembed.verify': ReembedVerifyPayload;
  };
  ingest: {
    'ingest.scan': IngestScanPayload;
    'ingest.batch': IngestBatchPayload;
  };
}

/** Every job name of each queue (for the handler-completeness check at worker start). */
export const JOB_NAMES: { [Q in QueueName]: readonly (keyof JobCatalogue[Q])[] } = {
  reembed: ['reembed.plan', 'reembed.batch', 'reembed.verify'],
  ingest: ['ingest.scan', 'ingest.batch'],
};
