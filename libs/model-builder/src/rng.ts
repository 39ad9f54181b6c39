/**
 * Seeded random numbers for weights. Hand-written because weights must be reproducible from
 * (seed, tensor name) alone, independent of generation order, and fast for ~100M values;
 * Math.random cannot be seeded and no installed library offers a seeded normal sampler.
 */

/** 32-bit FNV-1a hash of a string, mixed with a seed. */
export function hashSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** A small, fast PRNG (mulberry32) returning uniforms in [0, 1). */
export class Rng {
  private state: number;
  private spare: number | undefined;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  static for(seed: number, name: string): Rng {
    return new Rng(hashSeed(seed, name));
  }

  uniform(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal sample (Box–Muller, both values used). */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u = 1 - this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /**
   * A new Float32Array of mean + std * N(0,1). Each 32-bit draw gives two samples through a
   * 65,536-entry inverse-normal table (quantised to 16 bits, tails at about ±4.3σ): an order of
   * magnitude faster than Box–Muller, which matters for the ~700M weights of the benchmark models.
   */
  normals(n: number, std: number, mean = 0): Float32Array {
    const table = normalTable();
    const out = new Float32Array(n);
    let state = this.state;
    for (let i = 0; i < n; i += 2) {
      let t = (state = (state + 0x6d2b79f5) >>> 0);
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      t = (t ^ (t >>> 14)) >>> 0;
      out[i] = mean + std * table[t & 0xffff]!;
      if (i + 1 < n) out[i + 1] = mean + std * table[t >>> 16]!;
    }
    this.state = state;
    return out;
  }
}

let table: Float32Array | undefined;

/** Standard normal quantiles at (i + 0.5) / 65536 (Acklam's inverse-CDF approximation, rel. error < 1.2e-9). */
function normalTable(): Float32Array {
  if (table) return table;
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
    ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  const inv = (p: number): number => {
    if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
    if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
    const q = p - 0.5;
    const r = q * q;
    return (
      ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
      (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
    );
  };
  table = new Float32Array(65536);
  for (let i = 0; i < 65536; i++) table[i] = inv((i + 0.5) / 65536);
  return table;
}
