import { readFile } from 'node:fs/promises';
import express, { type Router } from 'express';
import { z } from 'zod';
import { isItemFailure } from '@image-search/image-formats';
import { AppError } from '@image-search/service-kit';
import { contentHash } from '@image-search/asset-catalogue';
import type { GatewayDeps } from '../app.types.js';
import { IMAGE_CSP } from '../http/security-headers.js';
import { validate } from '../http/validate.js';
import { THUMB_HASH_HEX, thumbKeyOf } from '../thumbnails/thumbnail-store.js';
import { assetIdSchema } from './params.js';

/** Path parameters of GET /api/v1/thumbnails/:asset_id/:file (`<content key>.jpg`). */
export const thumbnailParamsSchema = z.object({
  asset_id: assetIdSchema,
  file: z
    .string()
    .regex(
      new RegExp(`^[0-9a-f]{${THUMB_HASH_HEX}}\\.jpg$`),
      `must be ${THUMB_HASH_HEX} hex digits of the content hash and .jpg`,
    ),
});

const notFound = (id: string) =>
  new AppError(
    'NOT_FOUND',
    `no thumbnail of asset ${id} for this content (removed, or its file changed: take thumbnail_url from a fresh answer)`,
    {
      details: { field: 'asset_id' },
    },
  );

/**
 * GET /thumbnails/:asset_id/:key.jpg: the thumbnail of one version of an asset. The URL names the file
 * on disk (content-addressed), so serving is a file read with no store lookup, and the answer never
 * changes: `immutable`, a year of caching, an ETag for revalidation.
 */
export function thumbnailsRouter(deps: GatewayDeps): Router {
  const r = express.Router();
  // Behind auth a photo is private: no shared cache (CDN, corporate proxy) may keep a copy.
  const visibility = deps.settings.authConfigured ? 'private' : 'public';

  r.get('/thumbnails/:asset_id/:file', async (req, res) => {
    const p = validate(thumbnailParamsSchema, req.params, 'params');
    const id = p.asset_id;
    const key = p.file.slice(0, THUMB_HASH_HEX);
    const etag = `"${key}-${deps.settings.thumbnailSize}"`;
    const headers = {
      'content-type': 'image/jpeg',
      'cache-control': `${visibility}, max-age=31536000, immutable`,
      etag,
      'content-security-policy': IMAGE_CSP,
    };
    if (req.get('if-none-match') === etag && (await deps.thumbnails.has(id, key))) {
      res.status(304).set(headers).end();
      return;
    }
    let data = await deps.thumbnails.read(id, key);
    if (!data) data = await renderLate(deps, id, key);
    res.set(headers).send(data);
  });
  return r;
}

/**
 * An asset ingested before thumbnails were made at ingest (or whose thumbnail failed then): rendered
 * now, only when the catalogue's content is the one the URL names and the file still holds it.
 */
async function renderLate(deps: GatewayDeps, id: string, key: string): Promise<Buffer> {
  const entry = (await deps.catalogue.get([id]))[0];
  if (!entry || thumbKeyOf(entry.contentHash) !== key || !deps.assetRoots.contains(entry.path)) throw notFound(id);
  const bytes = await readFile(entry.path).catch(() => undefined);
  if (!bytes || contentHash(bytes) !== entry.contentHash) throw notFound(id);
  let data: Buffer;
  try {
    // In a killable decode process under MAX_DECODE_MS: this runs on a request, for a file ingest could not render.
    data = await deps.viewThumbnails.render(bytes);
  } catch (err) {
    if (!isItemFailure(err)) throw err;
    throw new AppError('FAILED_PRECONDITION', `cannot make a thumbnail: ${err.message}`, {
      details: { reason: 'unreadable_image', item_reason: err.reason },
    });
  }
  await deps.thumbnails.write(deps.thumbnails.pathOf(id, key), data);
  return data;
}
