/** L2-normalises `n` values of `src` starting at `offset` into a new float32 vector (zero stays zero). */
export function l2Normalized(src: ArrayLike<number>, offset: number, n: number): Float32Array {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = src[offset + i] as number;
    sum += v * v;
  }
  const inv = sum > 0 ? 1 / Math.sqrt(sum) : 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (src[offset + i] as number) * inv;
  return out;
}

/**
 * Attention mask for `n` rows of `ctx` ids: 1 up to and including the first `endId` of each row, 0 after
 * (the padding). A row without `endId` (cannot happen after our tokenizer) is all ones.
 */
export function attentionMask(ids: BigInt64Array, n: number, ctx: number, endId: bigint): BigInt64Array {
  const mask = new BigInt64Array(n * ctx);
  for (let r = 0; r < n; r++) {
    const base = r * ctx;
    let len = ctx;
    for (let i = 0; i < ctx; i++) {
      if (ids[base + i] === endId) {
        len = i + 1;
        break;
      }
    }
    mask.fill(1n, base, base + len);
  }
  return mask;
}

/** Cosine similarity of two vectors of equal length. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

// IEEE half <-> single conversion for fp16 graphs whose inputs/outputs are float16 (onnxruntime-node
// takes them as Uint16Array). Node 20 has no Float16Array, so this is done here.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> float16 bits (round to nearest even). */
export function toHalf(v: number): number {
  f32[0] = v;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  e = half;
  return sign | e;
}

/** float16 bits -> number. */
export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
