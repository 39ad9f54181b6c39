// Entry of a gateway decode process (a DecodePool child): renders one thumbnail or ingest preview at a
// time, so the pool's MAX_DECODE_MS budget can stop a decode by killing this process.
import { preloadHeifDecoder, renderPreview, serveDecodeTasks } from '@image-search/image-formats';
import { renderThumbnail } from './thumbnail-render.js';
import type { DecodeJob } from './view-renderer.js';

serveDecodeTasks((init) => {
  const { size } = init as { size: number };
  // Before 'ready': the time budget is for decoding, not for loading the decoder.
  preloadHeifDecoder();
  return async (payload) => {
    const job = payload as DecodeJob;
    const bytes = Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength);
    if (job.kind === 'preview') return { value: await renderPreview(bytes, job.options) };
    return { value: await renderThumbnail(bytes, size) };
  };
});
