/**
 * Reads EXIF DateTimeOriginal (0x9003) from the raw EXIF block sharp returns (`metadata().exif`),
 * as an ISO date-time (EXIF has no zone; read as UTC), or undefined. A 50-line reader instead of a dependency:
 * only one tag is needed and none of the installed libraries parses EXIF.
 */
export function exifDateTimeOriginal(exif: Buffer | undefined): string | undefined {
  if (!exif || exif.length < 14) return undefined;
  try {
    let base = 0;
    if (exif.toString('ascii', 0, 4) === 'Exif') base = 6;
    const order = exif.toString('ascii', base, base + 2);
    const le = order === 'II';
    if (!le && order !== 'MM') return undefined;
    const u16 = (o: number) => (le ? exif.readUInt16LE(base + o) : exif.readUInt16BE(base + o));
    const u32 = (o: number) => (le ? exif.readUInt32LE(base + o) : exif.readUInt32BE(base + o));
    const findTag = (ifd: number, tag: number): number | undefined => {
      const n = u16(ifd);
      for (let i = 0; i < n; i++) {
        const e = ifd + 2 + i * 12;
        if (u16(e) === tag) return e;
      }
      return undefined;
    };
    const ifd0 = u32(4);
    const exifPtr = findTag(ifd0, 0x8769);
    const readAscii = (entry: number): string => {
      const count = u32(entry + 4);
      const off = count > 4 ? u32(entry + 8) : entry + 8;
      return exif.toString('ascii', base + off, base + off + count).replace(/\0+$/, '');
    };
    let raw: string | undefined;
    if (exifPtr !== undefined) {
      const sub = u32(exifPtr + 8);
      const dto = findTag(sub, 0x9003);
      if (dto !== undefined) raw = readAscii(dto);
    }
    const m = raw ? /^(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})/.exec(raw) : null;
    if (!m || m[1] === '0000') return undefined;
    const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z`;
    return Number.isNaN(Date.parse(iso)) ? undefined : iso;
  } catch {
    return undefined;
  }
}
