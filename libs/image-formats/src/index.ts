/** The one catalogue of per-item failure reasons, their sentences and message format. */
export {
  ITEM_ERROR_SENTENCES,
  ITEM_ERROR_REASONS,
  INPUT_ERROR_REASONS,
  ACCEPTED_FORMATS_TEXT,
  ItemFailure,
  isItemFailure,
  isItemErrorReason,
  itemMessage,
  sanitizeDetail,
  type ItemErrorReason,
} from './item-errors.js';
/** Magic-number sniffing (no decoding). */
export { sniffImage, type Sniffed, type AcceptedFormat } from './image-sniff.js';
/** Header checks and decoding of every accepted format into a sharp pipeline. */
export {
  inspectImage,
  openImage,
  decodeWith,
  classifyLibvipsError,
  shrinksOnLoad,
  type ShrinkOnLoad,
  type ImageHeader,
  type ImageLimits,
  type OpenedImage,
  type DecodeContext,
} from './image-open.js';
/** Loads the HEIF decoder ahead of the first image (decode workers call it at start). */
export { preloadHeifDecoder } from './heif-decoder.js';
/** A pool of killable decode processes with a per-task time budget. */
export { DecodePool, type DecodePoolOptions } from './decode-pool.js';
/** The child side of a DecodePool. */
export { serveDecodeTasks, type DecodeHandler } from './decode-worker-host.js';
/** Content-keyed previews that re-embedding reads instead of decoding the original. */
export {
  PreviewStore,
  renderPreview,
  DEFAULT_PREVIEW_OPTIONS,
  type PreviewOptions,
  type RenderedPreview,
} from './preview-store.js';
export { PreviewFiles, previewKeyOf } from './preview-files.js';
