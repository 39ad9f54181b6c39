/**
 * About how many bytes of V8 heap a JSON-like value keeps alive: 16 + length per string, 16 per number,
 * 16 per object or array plus 8 per slot, 96 + the bytes of a typed array. A walk, not `JSON.stringify`: on a
 * 50-hit search answer (~23 KB of JSON) the walk cost ~20 µs against ~0.5 ms for stringify, and estimates
 * 31.6 KB where V8 measured 26.8 KB (node --expose-gc, 2,000 answers kept), so a byte bound built on it errs
 * on the safe side. Shared values (a string two answers hold) are counted in each.
 */
export function approxBytes(value: unknown, depth = 0): number {
  switch (typeof value) {
    case 'string':
      return 16 + value.length;
    case 'number':
      return 16;
    case 'object': {
      // Deeper than any answer's shape: counted as a pointer (a cycle cannot run away).
      if (value === null || depth > 8) return 8;
      if (ArrayBuffer.isView(value)) return 96 + value.byteLength;
      let bytes = 16;
      if (Array.isArray(value)) {
        for (const v of value as unknown[]) bytes += 8 + approxBytes(v, depth + 1);
        return bytes;
      }
      for (const k in value) bytes += 8 + approxBytes((value as Record<string, unknown>)[k], depth + 1);
      return bytes;
    }
    default:
      return 8;
  }
}
