import { createHash, randomBytes } from 'node:crypto';

/** What a key may do: `search` reads (search, assets, images); `admin` also ingests and steers the rollout. */
export const API_KEY_SCOPES = ['search', 'admin'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** Whether a credential with scope `granted` may call an endpoint that needs `needed` (admin includes search). */
export function scopeAllows(granted: ApiKeyScope, needed: ApiKeyScope): boolean {
  return granted === 'admin' || needed === 'search';
}

/** Who a key was issued to: it becomes the request's identity (and the rollout bucketing user id). */
export const KEY_NAME = /^[A-Za-z0-9._@+-]{1,128}$/;

const PREFIX = 'isk_';
const FORMAT = /^isk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

/** A new key: `isk_<12 hex id>_<43 chars base64url of 32 random bytes>`; the id names it in lists and revocations. */
export function generateApiKey(): { key: string; id: string } {
  const id = randomBytes(6).toString('hex');
  return { key: `${PREFIX}${id}_${randomBytes(32).toString('base64url')}`, id };
}

/** Whether a bearer credential has the shape of one of our API keys (else it may be the ADMIN_TOKEN). */
export function looksLikeApiKey(s: string): boolean {
  return s.startsWith(PREFIX);
}

/** The key's id when it is well-formed, else undefined. */
export function apiKeyId(key: string): string | undefined {
  return FORMAT.exec(key)?.[1];
}

/**
 * What is stored instead of the key: its sha256, hex. A plain fast hash is enough here because
 * the keys are 256-bit random secrets, not passwords: nobody can guess a preimage, so a slow
 * hash (scrypt, argon2) would add no safety, only tens of milliseconds to every request and a
 * way to burn the gateway's CPU with made-up keys. The digest is also the lookup key in Redis.
 */
export function digestApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}
