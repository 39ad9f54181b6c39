import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { AppError } from '@image-search/service-kit';
import { looksLikeApiKey, scopeAllows, type ApiKeyScope, type ApiKeyStore } from '@image-search/api-keys';
import { requestIdentity, setRequestIdentity, type Identity } from './identity.js';
import { cookieValue, SESSION_COOKIE, type SessionStore } from './session.js';

/** How the gateway authenticates (built once from the config in gateway.wiring.ts). */
export interface AuthSettings {
  /** API keys in Redis (AUTH_API_KEYS=true), else undefined. */
  apiKeys: Pick<ApiKeyStore, 'lookup'> | undefined;
  /** ADMIN_TOKEN: an admin credential (identity `admin`). */
  adminToken: string | undefined;
  /** The trusted identity header of an authenticating proxy (AUTH_PROXY_HEADER), else undefined. */
  proxy:
    | {
        header: string;
        /** Whether the connecting address is one of AUTH_TRUSTED_PROXIES (proxy-addr's compiled matcher). */
        trusted: (addr: string) => boolean;
        /** Proxy users with the admin scope (AUTH_PROXY_ADMINS). */
        admins: ReadonlySet<string>;
      }
    | undefined;
  /** Whether a request without credentials may search (no auth configured, or ALLOW_ANONYMOUS=true). */
  anonymous: boolean;
  /** Browser sessions for the page's images (when API keys or ADMIN_TOKEN are configured), else undefined. */
  sessions?: SessionStore | undefined;
}

const PROXY_USER = /^\P{Cc}{1,256}$/u;
const CHALLENGE = 'Bearer realm="image-search"';

function unauthenticated(message: string, reason: string): AppError {
  return new AppError('UNAUTHENTICATED', message, { details: { field: 'authorization', reason } });
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * Authenticates every /api request that carries a credential, and records who made it
 * (requestIdentity). A credential that is present but wrong is refused here, even on routes
 * that would serve anonymous callers, so a client never silently runs as someone else.
 * Order: the proxy's identity header (only from AUTH_TRUSTED_PROXIES), then an
 * `Authorization: Bearer` API key or ADMIN_TOKEN, which wins over the proxy user when both come.
 */
export function authenticate(settings: AuthSettings): RequestHandler {
  const adminDigest = settings.adminToken ? digest(settings.adminToken) : undefined;
  const apiKeyHint = settings.apiKeys
    ? 'an API key (npx nx run tools:api-key -- create --scope search --name <user>)'
    : undefined;

  const fromProxy = (req: Request): Identity | undefined => {
    const p = settings.proxy;
    if (!p) return undefined;
    const raw = req.headers[p.header.toLowerCase()];
    if (raw === undefined) return undefined;
    const addr = req.socket.remoteAddress ?? '';
    // A client that is not the proxy must never name its own user; refuse loudly instead of ignoring.
    if (!addr || !p.trusted(addr))
      throw unauthenticated(
        `the ${p.header} header is accepted only from the authenticating proxy (AUTH_TRUSTED_PROXIES); this request did not come through it`,
        'untrusted_proxy',
      );
    const user = (Array.isArray(raw) ? raw[0] : raw)?.trim() ?? '';
    if (!PROXY_USER.test(user))
      throw unauthenticated(
        `the ${p.header} header must name a user (1 to 256 printable characters)`,
        'bad_proxy_user',
      );
    return { id: user, scope: p.admins.has(user) ? 'admin' : 'search', method: 'proxy' };
  };

  const fromBearer = async (token: string): Promise<Identity> => {
    if (settings.apiKeys && looksLikeApiKey(token)) {
      let found;
      try {
        found = await settings.apiKeys.lookup(token);
      } catch (err) {
        throw new AppError('UNAVAILABLE', 'cannot check the API key: the key store (Redis) is unreachable', {
          cause: err,
          retryAfterS: 5,
        });
      }
      if (found.ok)
        return { id: found.record.name, scope: found.record.scope, method: 'api_key', keyId: found.record.id };
      throw found.reason === 'revoked'
        ? unauthenticated('this API key was revoked; ask an administrator for a new one', 'revoked_key')
        : unauthenticated('this API key is not valid (unknown key)', 'unknown_key');
    }
    if (adminDigest && timingSafeEqual(digest(token), adminDigest))
      return { id: 'admin', scope: 'admin', method: 'admin_token' };
    throw unauthenticated(
      settings.apiKeys
        ? 'the bearer credential is wrong: it is neither a valid API key nor the ADMIN_TOKEN'
        : 'admin token is wrong',
      'wrong_credential',
    );
  };

  return (req, res, next) => {
    const run = async () => {
      const proxied = fromProxy(req);
      const header = req.get('authorization');
      let identity = proxied;
      // With no bearer credential configured there is nothing to check an Authorization header against.
      if (header !== undefined && (settings.apiKeys || adminDigest)) {
        const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
        if (!m)
          throw unauthenticated(
            `the Authorization header must be "Bearer <credential>" (${apiKeyHint ?? 'the ADMIN_TOKEN'})`,
            'malformed_authorization',
          );
        identity = await fromBearer(m[1]!);
      }

      // The page's <img> tags cannot send a header: they carry the session cookie instead, honoured
      // only when nothing else identifies the request and only for reads (no cross-site action).
      const token = cookieValue(req.get('cookie'), SESSION_COOKIE);
      if (!identity && token !== undefined && settings.sessions && (req.method === 'GET' || req.method === 'HEAD')) {
        let found;
        try {
          found = await settings.sessions.lookup(token);
        } catch (err) {
          throw new AppError('UNAVAILABLE', 'cannot check the session: the session store (Redis) is unreachable', {
            cause: err,
            retryAfterS: 5,
          });
        }
        if (!found)
          throw unauthenticated(
            'your session has expired or was ended (or its API key was revoked): enter your API key again',
            'session_expired',
          );
        identity = found;
      }
      if (identity) {
        setRequestIdentity(req, identity);
        res.locals['identity'] = identity;
      }
    };
    run().then(
      () => next(),
      (err: unknown) => {
        if (err instanceof AppError && err.code === 'UNAUTHENTICATED') res.setHeader('www-authenticate', CHALLENGE);
        next(err);
      },
    );
  };
}

/** Lets the request through only with a credential of `scope` (anonymous callers pass `search` when allowed). */
export function requireScope(scope: ApiKeyScope, settings: AuthSettings): RequestHandler {
  const ways = [
    settings.apiKeys
      ? `an API key of scope ${scope} sent as Authorization: Bearer isk_… (an operator makes one with npx nx run tools:api-key -- create --scope ${scope} --name <user>)`
      : undefined,
    settings.proxy
      ? `a login through the authenticating proxy${scope === 'admin' ? ' as a user in AUTH_PROXY_ADMINS' : ''}`
      : undefined,
    scope === 'admin' && settings.adminToken ? 'Authorization: Bearer <ADMIN_TOKEN>' : undefined,
  ].filter((w): w is string => w !== undefined);
  return (req, res, next) => {
    const who = requestIdentity(req);
    if (who && scopeAllows(who.scope, scope)) return next();
    if (!who && scope === 'search' && settings.anonymous) return next();
    if (ways.length === 0) {
      // Only reachable for admin routes: nothing can grant the admin scope.
      next(
        new AppError(
          'PERMISSION_DENIED',
          'admin API is disabled: set ADMIN_TOKEN (or AUTH_API_KEYS=true and create an admin key) on the gateway to enable it',
          { details: { reason: 'admin_disabled' } },
        ),
      );
      return;
    }
    if (!who) {
      res.setHeader('www-authenticate', CHALLENGE);
      next(
        unauthenticated(
          `${scope === 'admin' ? 'the admin API' : 'this gateway'} needs a credential: ${ways.join(', or ')}`,
          'missing_credential',
        ),
      );
      return;
    }
    const holder =
      who.method === 'api_key' ? `the API key of ${who.id}` : `${who.method === 'proxy' ? 'user ' : ''}${who.id}`;
    next(
      new AppError('PERMISSION_DENIED', `this needs the ${scope} scope; ${holder} has scope ${who.scope}`, {
        details: { reason: 'wrong_scope', scope: who.scope, needed: scope },
      }),
    );
  };
}
