/** Formats the image pipeline accepts (sharp `metadata().format` names; AVIF reports as `heif`). */
export const ACCEPTED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif']);

/**
 * What the leading bytes say the input is. Used to tell "a damaged image" (CORRUPT_IMAGE) from
 * "not an image at all" (NOT_AN_IMAGE) and from "an image or document we do not take"
 * (UNSUPPORTED_FORMAT) when libvips cannot read the header; libvips itself gives one message for all.
 */
export type Sniffed =
  { kind: 'accepted'; format: string } | { kind: 'unsupported'; format: string } | { kind: 'unknown' };

function ascii(b: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < Math.min(end, b.length); i++) s += String.fromCharCode(b[i] as number);
  return s;
}

/** Magic-number sniffing of the first bytes (no decoding). */
export function sniffImage(b: Uint8Array): Sniffed {
  const head4 = ascii(b, 0, 4);
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { kind: 'accepted', format: 'jpeg' };
  if (b[0] === 0x89 && head4.slice(1) === 'PNG') return { kind: 'accepted', format: 'png' };
  if (head4 === 'GIF8') return { kind: 'accepted', format: 'gif' };
  if (head4 === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return { kind: 'accepted', format: 'webp' };
  if (head4 === 'II*\0' || head4 === 'MM\0*' || head4 === 'II+\0' || head4 === 'MM\0+')
    return { kind: 'accepted', format: 'tiff' };
  if (ascii(b, 4, 8) === 'ftyp') {
    const brand = ascii(b, 8, 12);
    // 'mif1'/'msf1' are generic HEIF brands; the codec (AV1 or HEVC) is checked from metadata later.
    if (brand === 'avif' || brand === 'avis' || brand === 'mif1' || brand === 'msf1')
      return { kind: 'accepted', format: 'heif' };
    return { kind: 'unsupported', format: `heif/${brand.trim() || 'unknown'}` };
  }
  if (head4 === '%PDF') return { kind: 'unsupported', format: 'pdf' };
  if (head4.startsWith('BM')) return { kind: 'unsupported', format: 'bmp' };
  if (head4 === '8BPS') return { kind: 'unsupported', format: 'psd' };
  if (b[0] === 0 && b[1] === 0 && b[2] === 1 && b[3] === 0) return { kind: 'unsupported', format: 'ico' };
  if ((b[0] === 0xff && b[1] === 0x0a) || ascii(b, 4, 8) === 'JXL ') return { kind: 'unsupported', format: 'jxl' };
  if (ascii(b, 4, 8) === 'jP  ') return { kind: 'unsupported', format: 'jp2' };
  // SVG and other XML: look for the root element near the start, past an optional BOM, prolog or comments.
  const text = ascii(b, 0, 1024)
    .replace(/^\uFEFF|^\xEF\xBB\xBF/, '')
    .trimStart();
  if (text.startsWith('<') && /<svg[\s>]/i.test(text)) return { kind: 'unsupported', format: 'svg' };
  return { kind: 'unknown' };
}
