/**
 * The one catalogue of per-item failure reasons: every reason an image (or text) can be refused
 * for, with the short sentence people read. The proto's ItemErrorReason, the embedders, the
 * gateway's upload pre-check, ingest, the re-embedding worker and the OpenAPI document all take
 * their list from here (a spec in embedder-proto checks the proto enum matches, in order).
 * Importable alone as `@image-search/image-formats/item-errors` (no decoders loaded).
 */
export const ITEM_ERROR_SENTENCES = {
  EMPTY_INPUT: 'the input is empty',
  INPUT_TOO_LARGE: 'the input is larger than allowed',
  NOT_AN_IMAGE: 'the file is not an image',
  UNSUPPORTED_FORMAT: 'the image format is not supported',
  CORRUPT_IMAGE: 'the image data is damaged or truncated',
  TOO_MANY_PIXELS: 'the image has more pixels than allowed',
  INFERENCE_FAILED: 'the model failed on this input',
  DECODE_TIMEOUT: 'decoding the image took longer than its time budget',
} as const;

/** Why one item could not be embedded (the proto's ItemErrorReason without UNSPECIFIED). */
export type ItemErrorReason = keyof typeof ITEM_ERROR_SENTENCES;

/** Every per-item reason, in the proto's order. */
export const ITEM_ERROR_REASONS = Object.keys(ITEM_ERROR_SENTENCES) as ItemErrorReason[];

/** The reasons that are the input's fault (a 400 for an upload, never a reason to retry or fall back). */
export const INPUT_ERROR_REASONS: ReadonlySet<ItemErrorReason> = new Set([
  'EMPTY_INPUT',
  'INPUT_TOO_LARGE',
  'NOT_AN_IMAGE',
  'UNSUPPORTED_FORMAT',
  'CORRUPT_IMAGE',
  'TOO_MANY_PIXELS',
  'DECODE_TIMEOUT',
]);

/** Whether `s` is one of the catalogue's reasons. */
export function isItemErrorReason(s: unknown): s is ItemErrorReason {
  return typeof s === 'string' && Object.hasOwn(ITEM_ERROR_SENTENCES, s);
}

/** The formats the pipeline accepts, as the refusal sentence names them. */
export const ACCEPTED_FORMATS_TEXT = 'JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIC/HEIF, BMP, ICO';

const MAX_DETAIL = 160;

/**
 * One line of a decoder's own text, safe to show: the first non-empty line, control characters
 * removed, anything that looks like a file path replaced by `<file>`, at most 160 characters.
 * Returns undefined when nothing useful is left.
 */
export function sanitizeDetail(text: unknown): string | undefined {
  const raw = text instanceof Error ? text.message : typeof text === 'string' ? text : undefined;
  if (!raw) return undefined;
  const line = raw
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l.length > 0);
  if (!line) return undefined;
  const clean = line
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    // Absolute POSIX/Windows paths and file: URLs (a decoder names its input file when given a path).
    .replace(/(file:\/\/)?(\/[^\s:;,'"()]+)+/g, '<file>')
    .replace(/[A-Za-z]:\\[^\s:;,'"()]*/g, '<file>')
    .replace(/\s+/g, ' ')
    .trim();
  if (!clean || clean === '<file>' || /^unknown error$/i.test(clean)) return undefined;
  return clean.length > MAX_DETAIL ? `${clean.slice(0, MAX_DETAIL - 1)}…` : clean;
}

/** The message of a per-item failure: `REASON: sentence (specifics): decoder detail`. */
export function itemMessage(reason: ItemErrorReason, specifics?: string, detail?: unknown): string {
  const d = sanitizeDetail(detail);
  return `${reason}: ${ITEM_ERROR_SENTENCES[reason]}${specifics ? ` (${specifics})` : ''}${d ? `: ${d}` : ''}`;
}

/** A per-item failure (the rest of the batch goes on); its message comes from `itemMessage`. */
export class ItemFailure extends Error {
  constructor(
    readonly reason: ItemErrorReason,
    /** What we know about this item in particular (format, sizes, limits); our own words. */
    readonly specifics?: string,
    /** The decoder's own error for this item; one sanitized line of it reaches the message. */
    detail?: unknown,
  ) {
    super(itemMessage(reason, specifics, detail));
    this.name = 'ItemFailure';
  }

  /** Rebuilds a failure that crossed a process boundary (message already formed). */
  static fromWire(reason: ItemErrorReason, message: string): ItemFailure {
    const f = new ItemFailure(reason);
    f.message = message.startsWith(`${reason}:`) ? message : itemMessage(reason);
    return f;
  }
}

/** Whether `err` is an ItemFailure (also across module copies). */
export function isItemFailure(err: unknown): err is ItemFailure {
  return err instanceof ItemFailure || (err instanceof Error && err.name === 'ItemFailure' && 'reason' in err);
}
