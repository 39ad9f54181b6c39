import { pipeline } from 'node:stream/promises';
import { create as contentDisposition } from 'content-disposition';
import express, { type Router } from 'express';
import type { GatewayDeps } from '../app.types.js';
import { IMAGE_CSP, servableImageType } from '../http/security-headers.js';
import { validate } from '../http/validate.js';
import { assetIdParamsSchema } from './params.js';
import { thumbnailUrl } from '../thumbnails/thumbnail-store.js';

/** GET /images/:id/thumbnail and GET /images/:id/file. */
export function imagesRouter(deps: GatewayDeps): Router {
  const r = express.Router();
  // Behind auth a photo is private: no shared cache (CDN, corporate proxy) may keep a copy.
  const visibility = deps.settings.authConfigured ? 'private' : 'public';
  const idOf = (params: unknown) => validate(assetIdParamsSchema, params, 'params').asset_id;

  r.get('/images/:asset_id/thumbnail', async (req, res) => {
    const id = idOf(req.params);
    // The old address: a catalogued asset is sent to its content-addressed thumbnail (no store lookup).
    const entry = (await deps.catalogue.get([id]))[0];
    const moved = entry ? thumbnailUrl(id, entry.contentHash) : undefined;
    if (moved) {
      res.set('cache-control', 'no-cache').redirect(302, moved);
      return;
    }
    const t = await deps.images.thumbnail(id);
    if (req.get('if-none-match') === t.etag) {
      res.status(304).end();
      return;
    }
    res
      .set({
        'content-type': 'image/jpeg',
        'cache-control': `${visibility}, max-age=86400`,
        etag: t.etag,
        'x-thumbnail-cache': t.cached ? 'hit' : 'miss',
        'content-security-policy': IMAGE_CSP,
      })
      .send(t.data);
  });

  r.get('/images/:asset_id/file', async (req, res) => {
    const f = await deps.images.original(idOf(req.params));
    res.set({
      // Sniffed from the bytes being sent; servableImageType keeps anything but a raster image from rendering.
      'content-type': servableImageType(f.mime),
      'content-length': String(f.size),
      'content-disposition': contentDisposition(f.filename, { type: 'inline' }),
      'x-content-type-options': 'nosniff',
      'cache-control': 'private, max-age=3600',
      'content-security-policy': IMAGE_CSP,
    });
    await pipeline(f.stream, res);
  });
  return r;
}
