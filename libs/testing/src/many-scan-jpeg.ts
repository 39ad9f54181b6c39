/**
 * A valid progressive JPEG with thousands of scans, written segment by segment (SOI, DQT, SOF2,
 * DHT, then one SOS per scan, EOI). libjpeg accepts any number of scans, and a progressive
 * decode visits every block of the image once per scan, so decoding cost grows with
 * scans x blocks while the pixel count stays under any limit. The image is flat grey (every
 * coefficient 0); each scan is coded with end-of-band runs, so the file stays small.
 *
 * Scan script (3 components, 4:4:4, no warnings from libjpeg): one interleaved DC scan, then for
 * every AC coefficient k = 1..63 and component, a first scan at Al = 13 and 13 refinement scans
 * down to Al = 0: 1 + 63 x 3 x 14 = 2,647 scans.
 */
export function manyScanJpeg(width: number, height: number, opts: { acCoefficients?: number } = {}): Buffer {
  const ks = opts.acCoefficients ?? 63;
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  const parts: Buffer[] = [];
  const seg = (marker: number, body: Buffer) => {
    const head = Buffer.alloc(4);
    head.writeUInt16BE(0xff00 | marker, 0);
    head.writeUInt16BE(body.length + 2, 2);
    parts.push(head, body);
  };
  parts.push(Buffer.from([0xff, 0xd8]));
  seg(0xdb, Buffer.concat([Buffer.from([0x00]), Buffer.alloc(64, 1)])); // DQT: table 0, all ones
  const sof = Buffer.alloc(6 + 3 * 3);
  sof[0] = 8;
  sof.writeUInt16BE(height, 1);
  sof.writeUInt16BE(width, 3);
  sof[5] = 3;
  for (let c = 0; c < 3; c++) sof.set([c + 1, 0x11, 0], 6 + 3 * c);
  seg(0xc2, sof); // SOF2: progressive
  // DHT: DC table 0 = one 1-bit code for category 0; AC table 0 = the 15 end-of-band-run symbols, 4 bits each.
  const dc = Buffer.concat([Buffer.from([0x00]), Buffer.from([1, ...Array(15).fill(0)]), Buffer.from([0])]);
  const acCounts = Array(16).fill(0);
  acCounts[3] = 15;
  const eobSymbols = Array.from({ length: 15 }, (_, r) => r << 4);
  const ac = Buffer.concat([Buffer.from([0x10]), Buffer.from(acCounts), Buffer.from(eobSymbols)]);
  seg(0xc4, Buffer.concat([dc, ac]));

  const scan = (comps: number[], ss: number, se: number, ah: number, al: number, data: Buffer) => {
    const body = Buffer.alloc(1 + 2 * comps.length + 3);
    body[0] = comps.length;
    comps.forEach((c, i) => body.set([c, 0x00], 1 + 2 * i));
    body.set([ss, se, (ah << 4) | al], 1 + 2 * comps.length);
    seg(0xda, body);
    parts.push(data);
  };
  // DC: every block's difference is category 0, coded '0': one bit per block of each component.
  scan(
    [1, 2, 3],
    0,
    0,
    0,
    0,
    entropy((w) => {
      for (let i = 0; i < blocks * 3; i++) w(0, 1);
    }),
  );
  // AC: the whole band is one run of empty blocks, as end-of-band-run symbols (code r, then r bits).
  const eobRuns = entropy((w) => {
    for (let n = blocks; n > 0;) {
      const run = Math.min(n, 32767);
      const r = Math.floor(Math.log2(run));
      w(r, 4);
      if (r) w(run - (1 << r), r);
      n -= run;
    }
  });
  for (let k = 1; k <= ks; k++)
    for (let c = 1; c <= 3; c++) {
      scan([c], k, k, 0, 13, eobRuns);
      for (let ah = 13; ah >= 1; ah--) scan([c], k, k, ah, ah - 1, eobRuns);
    }
  parts.push(Buffer.from([0xff, 0xd9]));
  return Buffer.concat(parts);
}

/** Huffman-coded bytes: bits written MSB first, 0xFF stuffed with 0x00, the last byte padded with ones. */
function entropy(write: (w: (value: number, bits: number) => void) => void): Buffer {
  const out: number[] = [];
  let acc = 0;
  let n = 0;
  const push = (byte: number) => {
    out.push(byte);
    if (byte === 0xff) out.push(0);
  };
  write((value, bits) => {
    for (let i = bits - 1; i >= 0; i--) {
      acc = (acc << 1) | ((value >> i) & 1);
      if (++n === 8) {
        push(acc);
        acc = 0;
        n = 0;
      }
    }
  });
  if (n > 0) push(((acc << (8 - n)) | ((1 << (8 - n)) - 1)) & 0xff);
  return Buffer.from(out);
}
