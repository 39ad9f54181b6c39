// Entry of a decode worker process (a DecodePool child): decodes and prepares one image at a
// time with the model's preprocessing spec, and returns the 8-bit RGB square.
import { preloadHeifDecoder, serveDecodeTasks } from '@image-search/image-formats';
import { ImagePreprocessor } from './image-preprocessor.js';
import type { PreprocessWorkerInit } from './pooled-preprocessor.js';

serveDecodeTasks((init) => {
  const { spec, limits } = init as PreprocessWorkerInit;
  // One decode at a time in this process: libvips' error text is this image's own.
  const images = new ImagePreprocessor(spec, limits, { ownErrors: true });
  // Before 'ready': the time budget is for decoding, not for loading the decoder.
  preloadHeifDecoder();
  return async (payload) => {
    const px = await images.preparePixels(payload as Uint8Array);
    return { value: px };
  };
});
