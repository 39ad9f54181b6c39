import express, { type Router } from 'express';
import { AppError } from '@image-search/service-kit';
import type { GatewayDeps } from '../app.types.js';
import { requestIdentity } from '../http/identity.js';
import { cookieValue, SESSION_COOKIE } from '../http/session.js';

/**
 * GET /auth/me: the caller's identity and the ways of signing in (the page asks for a key when it gets 401).
 * POST /auth/session: trades the request's API key for the page's image cookie; DELETE ends it.
 */
export function authRouter(deps: GatewayDeps): Router {
  const r = express.Router();
  r.get('/auth/me', (req, res) => {
    const who = requestIdentity(req);
    res.json({
      authenticated: who !== undefined,
      identity: who ? { id: who.id, scope: who.scope, method: who.method } : null,
      auth: {
        api_keys: deps.auth.apiKeys !== undefined,
        proxy_header: deps.auth.proxy?.header ?? null,
        anonymous: deps.auth.anonymous,
      },
    });
  });
  r.post('/auth/session', async (req, res) => {
    const sessions = deps.auth.sessions;
    const who = requestIdentity(req);
    if (!sessions)
      throw new AppError(
        'FAILED_PRECONDITION',
        'browser sessions exist only with API keys (AUTH_API_KEYS=true); without them images need no session',
        { details: { reason: 'sessions_disabled' } },
      );
    if (!who || (who.method !== 'api_key' && who.method !== 'admin_token'))
      throw new AppError(
        'INVALID_ARGUMENT',
        who?.method === 'proxy'
          ? 'no session is needed behind the authenticating proxy: it identifies every request, images included'
          : 'send the API key as Authorization: Bearer isk_… to start a session',
        { details: { field: 'authorization', reason: 'no_key' } },
      );
    const token = await sessions.create(who);
    res.cookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: req.secure,
      path: '/api/v1',
      maxAge: sessions.ttlS * 1000,
    });
    res.json({
      identity: { id: who.id, scope: 'search', method: who.method },
      expires_at: new Date(Date.now() + sessions.ttlS * 1000).toISOString(),
    });
  });
  r.delete('/auth/session', async (req, res) => {
    const token = cookieValue(req.get('cookie'), SESSION_COOKIE);
    if (token && deps.auth.sessions) await deps.auth.sessions.delete(token);
    res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/api/v1' });
    res.status(204).end();
  });
  return r;
}
