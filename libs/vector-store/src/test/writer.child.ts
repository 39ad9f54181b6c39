// A writer process for the reliability tests: streams upserts into a collection of the embedded engine and
// prints "ack <prefix> <batch> <size>" only after each upsert has returned.
// argv: dataDir collection prefix batches [indexThreshold]
import { createLogger } from '@image-search/service-kit';
import { LanceVectorStore } from '../lance-vector-store.js';
import { rng, writerPoint } from './contract-data.js';

const [dataDir, collection, prefix, batchesArg, thresholdArg] = process.argv.slice(2);
const batches = Number(batchesArg ?? '1000000');
const store = await LanceVectorStore.open({
  dataDir: dataDir!,
  logger: createLogger('writer-child', 'warn'),
  policy: { indexThreshold: Number(thresholdArg ?? '5000'), reindexMinRows: 200, checkIntervalMs: 200 },
});
const rand = rng(prefix!.length * 31 + 7);
for (let b = 0; b < batches; b++) {
  const size = 1 + Math.floor(rand() * 20);
  await store.upsert(
    collection!,
    Array.from({ length: size }, (_, j) => writerPoint(prefix!, b, size, j)),
  );
  process.stdout.write(`ack ${prefix} ${b} ${size}\n`);
}
await store.close();
process.stdout.write('done\n');
