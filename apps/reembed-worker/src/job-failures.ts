import type { Job } from 'bullmq';
import type { Logger } from '@image-search/service-kit';
import type { CatalogueJob } from '@image-search/jobs';
import { finalizeFailedBatch, type BatchDeps } from './reembed-batch.job.js';

/**
 * Records a failed job attempt in the run: a retry shows as `last_error`; a batch that failed for
 * good is finalized (its items to the failed set, the run goes on); a planner or verify job that
 * failed for good fails the run with the reason.
 */
export function onJobFailed(
  runs: BatchDeps['runs'],
  depsFor: (runId: string) => Promise<Pick<BatchDeps, 'runs' | 'queue' | 'store' | 'target' | 'logger' | 'metrics'>>,
  logger: Logger,
) {
  return (job: Job | undefined, err: Error): void => {
    if (!job) return;
    // BullMQ sets finishedOn only when the job will not be retried.
    const final = job.finishedOn !== undefined || err.name === 'UnrecoverableError';
    const runId = (job.data as { runId?: string }).runId;
    logger.warn(
      { job_id: job.id, job: job.name, attempt: job.attemptsMade, final, err: err.message },
      final ? 'job failed for good' : 'job failed; retrying with backoff',
    );
    void (async () => {
      if (!runId) return;
      if (!final) {
        await runs.setError(
          runId,
          `${job.name} ${job.id} attempt ${job.attemptsMade} failed (retrying): ${err.message}`,
        );
        return;
      }
      if (job.name === 'reembed.batch') {
        await finalizeFailedBatch(job as CatalogueJob<'reembed', 'reembed.batch'>, err, await depsFor(runId));
        return;
      }
      const hint =
        job.name === 'reembed.plan' ? ' (fix the cause, then retry-failed resumes planning from its checkpoint)' : '';
      await runs.setError(runId, `${job.name} failed for good: ${err.message}${hint}`);
      await runs.transition(runId, ['planning', 'running', 'paused', 'verifying'], 'failed');
    })().catch((e: unknown) =>
      logger.error({ err: e, job_id: job.id }, 'could not record a job failure in the run state'),
    );
  };
}
