// Entry of a thumbnail decode process (a DecodePool child of the gateway): renders one thumbnail at a
// time, so the pool's MAX_DECODE_MS budget can stop a decode by killing this process.
import { preloadHeifDecoder, serveDecodeTasks } from '@image-search/image-formats';
import { renderThumbnail } from './thumbnail-render.js';

serveDecodeTasks((init) => {
  const { size } = init as { size: number };
  // Before 'ready': the time budget is for decoding, not for loading the decoder.
  preloadHeifDecoder();
  return async (payload) => {
    const bytes = payload as Uint8Array;
    return { value: await renderThumbnail(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), size) };
  };
});
