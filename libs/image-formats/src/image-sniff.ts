/** Formats the pipeline decodes: libvips (sharp) for most, libheif (wasm) for HEVC HEIF, JS decoders for BMP and ICO. */
export type AcceptedFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'heif' | 'bmp' | 'ico';

/**
 * What the leading bytes say the input is. Tells "a damaged image" (CORRUPT_IMAGE) from "not an
 * image at all" (NOT_AN_IMAGE) and from "an image or document we do not take" (UNSUPPORTED_FORMAT)
 * before any decoder runs; libvips gives one message for all three. `heif` covers HEIC (HEVC) and
 * AVIF (AV1); the codec is read from the header later.
 */
export type Sniffed =
  { kind: 'accepted'; format: AcceptedFormat } | { kind: 'unsupported'; format: string } | { kind: 'unknown' };

function ascii(b: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < Math.min(end, b.length); i++) s += String.fromCharCode(b[i] as number);
  return s;
}

// ISO-BMFF brands of HEIF still images and image sequences (HEVC and AV1 alike).
const HEIF_BRANDS = new Set([
  'heic',
  'heix',
  'hevc',
  'hevx',
  'heim',
  'heis',
  'hevm',
  'hevs',
  'mif1',
  'msf1',
  'avif',
  'avis',
  'mif2',
  'miaf',
]);

/**
 * Camera RAW files built on TIFF: their first IFD is a small preview (or none), which libvips
 * would read as if it were the photo. Told apart by the tags a RAW carries in IFD0.
 */
function tiffRawFormat(b: Uint8Array): string | undefined {
  if (ascii(b, 8, 10) === 'CR' && b[10] === 2) return 'cr2';
  const le = b[0] === 0x49;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 16 || b[2] !== (le ? 42 : 0)) return undefined;
  const u16 = (o: number) => view.getUint16(o, le);
  const u32 = (o: number) => view.getUint32(o, le);
  const ifd = u32(4);
  if (ifd + 2 > b.length) return undefined;
  const count = u16(ifd);
  let make = '';
  for (let i = 0; i < count; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > b.length) break;
    const tag = u16(e);
    if (tag === 0xc612) return 'dng'; // DNGVersion
    if (tag === 0x010f) {
      const n = u32(e + 4);
      const at = n <= 4 ? e + 8 : u32(e + 8);
      make = ascii(b, at, at + Math.min(n, 32)).toUpperCase();
    }
  }
  if (make.startsWith('NIKON')) return 'nef';
  if (make.startsWith('SONY')) return 'arw';
  if (make.startsWith('CANON')) return 'cr2';
  if (make.startsWith('PENTAX') || make.startsWith('RICOH')) return 'pef';
  return undefined;
}

/** Magic-number sniffing of the first bytes (no decoding). */
export function sniffImage(b: Uint8Array): Sniffed {
  const head4 = ascii(b, 0, 4);
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { kind: 'accepted', format: 'jpeg' };
  if (b[0] === 0x89 && head4.slice(1) === 'PNG') return { kind: 'accepted', format: 'png' };
  if (head4 === 'GIF8') return { kind: 'accepted', format: 'gif' };
  if (head4 === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return { kind: 'accepted', format: 'webp' };
  if (head4 === 'IIRO' || head4 === 'IIRS') return { kind: 'unsupported', format: 'orf (camera RAW)' };
  if (head4 === 'IIU\0') return { kind: 'unsupported', format: 'rw2 (camera RAW)' };
  if (ascii(b, 0, 15) === 'FUJIFILMCCD-RAW') return { kind: 'unsupported', format: 'raf (camera RAW)' };
  if (head4 === 'II*\0' || head4 === 'MM\0*') {
    const raw = tiffRawFormat(b);
    return raw ? { kind: 'unsupported', format: `${raw} (camera RAW)` } : { kind: 'accepted', format: 'tiff' };
  }
  if (head4 === 'II+\0' || head4 === 'MM\0+') return { kind: 'accepted', format: 'tiff' };
  if (ascii(b, 4, 8) === 'ftyp') {
    const major = ascii(b, 8, 12);
    if (major === 'crx ') return { kind: 'unsupported', format: 'cr3 (camera RAW)' };
    const boxEnd = Math.min(b.length, new DataView(b.buffer, b.byteOffset).getUint32(0));
    const compatible = [major];
    for (let p = 16; p + 4 <= boxEnd; p += 4) compatible.push(ascii(b, p, p + 4));
    if (compatible.some((x) => HEIF_BRANDS.has(x))) return { kind: 'accepted', format: 'heif' };
    return { kind: 'unsupported', format: `iso-bmff/${major.trim() || 'unknown'}` };
  }
  if (head4.startsWith('BM')) return { kind: 'accepted', format: 'bmp' };
  // ICO (type 1) and CUR (type 2) share the header: reserved 0, type, image count.
  if (b[0] === 0 && b[1] === 0 && (b[2] === 1 || b[2] === 2) && b[3] === 0 && (b[4] ?? 0) + (b[5] ?? 0) > 0)
    return { kind: 'accepted', format: 'ico' };
  if (head4 === '%PDF') return { kind: 'unsupported', format: 'pdf' };
  if (head4 === '8BPS') return { kind: 'unsupported', format: 'psd' };
  if ((b[0] === 0xff && b[1] === 0x0a) || ascii(b, 4, 8) === 'JXL ') return { kind: 'unsupported', format: 'jxl' };
  if (ascii(b, 4, 8) === 'jP  ') return { kind: 'unsupported', format: 'jp2' };
  // SVG and other XML: look for the root element near the start, past an optional BOM, prolog or comments.
  const text = ascii(b, 0, 1024)
    .replace(/^\uFEFF|^\xEF\xBB\xBF/, '')
    .trimStart();
  if (text.startsWith('<') && /<svg[\s>]/i.test(text)) return { kind: 'unsupported', format: 'svg' };
  if (/^<(!doctype html|html[\s>])/i.test(text)) return { kind: 'unsupported', format: 'html' };
  return { kind: 'unknown' };
}
