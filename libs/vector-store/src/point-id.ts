import { createHash } from 'node:crypto';

/**
 * Maps an asset id to its point id: a UUID made from the first 16 bytes of sha256(asset id), with the
 * RFC 9562 version-8 ("custom") and variant bits set. Deterministic, so every process, both engines and
 * both model collections agree on it without a lookup table; Qdrant only accepts UUIDs or integers.
 */
export function pointIdFor(assetId: string): string {
  const b = createHash('sha256').update(assetId, 'utf8').digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
