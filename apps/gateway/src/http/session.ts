import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Identity } from './identity.js';

/** The cookie the page's images authenticate with (HttpOnly, SameSite=Strict, Path=/api/v1). */
export const SESSION_COOKIE = 'isearch_session';
const TOKEN = /^iss_[A-Za-z0-9_-]{43}$/;

/**
 * Browser sessions for what cannot send a header: `<img>` tags loading thumbnails and originals.
 * The page trades its API key (sent once as `Authorization: Bearer`) for a random token in an
 * HttpOnly cookie; Redis keeps only the token's sha256 with the identity, for AUTH_SESSION_TTL_S,
 * so every replica accepts it and a revoked key's sessions end at once (checked per use). A session
 * grants at most the `search` scope and is honoured only on GET/HEAD (auth.middleware.ts), so a
 * cross-site form can never act with it. Chosen over signed URLs: the thumbnail URLs stay stable
 * and content-addressed (cacheable, `immutable`), and no credential ever appears in a URL, a log
 * line or a copied link.
 */
export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly ttlS: number,
    /** For sessions made from an API key: whether that key is still active. */
    private readonly keyActive: (keyId: string) => Promise<boolean>,
  ) {}

  private key(token: string): string {
    return `${this.prefix}:auth-session:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
  }

  /** A new session for `who` (capped at the search scope); returns the cookie's token. */
  async create(who: Identity): Promise<string> {
    const token = `iss_${randomBytes(32).toString('base64url')}`;
    const stored: Identity = {
      id: who.id,
      scope: 'search',
      method: who.method,
      ...(who.keyId ? { keyId: who.keyId } : {}),
    };
    await this.redis.set(this.key(token), JSON.stringify(stored), 'EX', this.ttlS);
    return token;
  }

  /** The session's identity, or undefined when the token is unknown, expired or its key was revoked. */
  async lookup(token: string): Promise<Identity | undefined> {
    if (!TOKEN.test(token)) return undefined;
    const raw = await this.redis.get(this.key(token));
    if (!raw) return undefined;
    const who = JSON.parse(raw) as Identity;
    if (who.method === 'api_key' && who.keyId && !(await this.keyActive(who.keyId))) {
      await this.redis.del(this.key(token));
      return undefined;
    }
    return who;
  }

  /** Ends a session (sign-out). */
  async delete(token: string): Promise<void> {
    if (TOKEN.test(token)) await this.redis.del(this.key(token));
  }
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}
