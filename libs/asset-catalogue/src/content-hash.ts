import { createHash } from 'node:crypto';

/** `sha256:<64 hex>` of a file's bytes: what the catalogue and each vector's payload (`content_hash`) record. */
export function contentHash(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
