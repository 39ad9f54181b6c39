import type { Request } from 'express';
import type { ApiKeyScope } from '@image-search/api-keys';

/** Who made a request, once authenticated (anonymous requests have none). */
export interface Identity {
  /** The user: an API key's name, the proxy's user header, or `admin` for the ADMIN_TOKEN. Used as the rollout bucketing user id. */
  id: string;
  scope: ApiKeyScope;
  method: 'api_key' | 'proxy' | 'admin_token';
  /** The API key's id (when method is api_key), for logs; never the key. */
  keyId?: string;
}

const identities = new WeakMap<Request, Identity>();

/**
 * The request's authenticated identity, or undefined for an anonymous request. The one place to
 * read it (rate limits key by it, the search routes bucket by it); set only by the auth middleware.
 */
export function requestIdentity(req: Request): Identity | undefined {
  return identities.get(req);
}

/** Records the identity (auth middleware only). */
export function setRequestIdentity(req: Request, identity: Identity): void {
  identities.set(req, identity);
}
