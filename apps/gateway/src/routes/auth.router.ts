import express, { type Router } from 'express';
import type { GatewayDeps } from '../app.types.js';
import { requestIdentity } from '../http/identity.js';

/** GET /auth/me: the caller's identity and the ways of signing in (the page asks for a key when it gets 401). */
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
  return r;
}
