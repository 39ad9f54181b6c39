// Original file: proto/embedder.proto

/**
 * Why one item of a batch could not be embedded. Machine-readable; `message` says more.
 * The reasons and their sentences are catalogued once in libs/image-formats (item-errors.ts);
 * a spec checks this enum against it.
 */
export const ItemErrorReason = {
  ITEM_ERROR_REASON_UNSPECIFIED: 'ITEM_ERROR_REASON_UNSPECIFIED',
  /**
   * empty text or zero-byte image
   */
  EMPTY_INPUT: 'EMPTY_INPUT',
  /**
   * more bytes than the server's max_image_bytes / max_text_chars
   */
  INPUT_TOO_LARGE: 'INPUT_TOO_LARGE',
  /**
   * bytes are not a recognised image format
   */
  NOT_AN_IMAGE: 'NOT_AN_IMAGE',
  /**
   * a recognised format the server does not accept (e.g. SVG, PDF)
   */
  UNSUPPORTED_FORMAT: 'UNSUPPORTED_FORMAT',
  /**
   * truncated or damaged image data
   */
  CORRUPT_IMAGE: 'CORRUPT_IMAGE',
  /**
   * decoded size over max_image_pixels (decompression bomb)
   */
  TOO_MANY_PIXELS: 'TOO_MANY_PIXELS',
  /**
   * the model failed on this item
   */
  INFERENCE_FAILED: 'INFERENCE_FAILED',
  /**
   * decoding took longer than the server's per-image budget (MAX_DECODE_MS)
   */
  DECODE_TIMEOUT: 'DECODE_TIMEOUT',
} as const;

/**
 * Why one item of a batch could not be embedded. Machine-readable; `message` says more.
 * The reasons and their sentences are catalogued once in libs/image-formats (item-errors.ts);
 * a spec checks this enum against it.
 */
export type ItemErrorReason =
  | 'ITEM_ERROR_REASON_UNSPECIFIED'
  | 0
  /**
   * empty text or zero-byte image
   */
  | 'EMPTY_INPUT'
  | 1
  /**
   * more bytes than the server's max_image_bytes / max_text_chars
   */
  | 'INPUT_TOO_LARGE'
  | 2
  /**
   * bytes are not a recognised image format
   */
  | 'NOT_AN_IMAGE'
  | 3
  /**
   * a recognised format the server does not accept (e.g. SVG, PDF)
   */
  | 'UNSUPPORTED_FORMAT'
  | 4
  /**
   * truncated or damaged image data
   */
  | 'CORRUPT_IMAGE'
  | 5
  /**
   * decoded size over max_image_pixels (decompression bomb)
   */
  | 'TOO_MANY_PIXELS'
  | 6
  /**
   * the model failed on this item
   */
  | 'INFERENCE_FAILED'
  | 7
  /**
   * decoding took longer than the server's per-image budget (MAX_DECODE_MS)
   */
  | 'DECODE_TIMEOUT'
  | 8

/**
 * Why one item of a batch could not be embedded. Machine-readable; `message` says more.
 * The reasons and their sentences are catalogued once in libs/image-formats (item-errors.ts);
 * a spec checks this enum against it.
 */
export type ItemErrorReason__Output = typeof ItemErrorReason[keyof typeof ItemErrorReason]
