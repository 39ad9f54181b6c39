import { basename } from 'node:path';
import type { AssetPayload } from '@image-search/vector-store';
import type { AssetPaths } from './asset-paths.js';
import { thumbnailUrl } from '../thumbnails/thumbnail-store.js';

/** An asset as the API returns it. */
export interface AssetView {
  id: string;
  /** Relative to its asset root (forward slashes); only the file name when it lies outside the current roots. */
  path: string | null;
  /** The asset root's name (null outside the current roots). */
  root: string | null;
  url: string;
  thumbnail_url: string;
  width: number | null;
  height: number | null;
  format: string | null;
  file_size: number | null;
  category: string | null;
  date_taken: string | null;
  created_at: string | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Maps a stored payload to the API's asset shape (links relative to the API root, never an absolute server path). */
export function toAssetView(payload: AssetPayload, paths: AssetPaths): AssetView {
  const id = payload.asset_id;
  const abs = str(payload.path);
  const place = abs ? paths.place(abs) : undefined;
  return {
    id,
    path: place ? place.path : abs ? basename(abs) : null,
    root: place?.root ?? null,
    url: `/api/v1/images/${id}/file`,
    // Content-addressed when the content hash is known: an edited photo gets a new URL.
    thumbnail_url: thumbnailUrl(id, payload['content_hash']) ?? `/api/v1/images/${id}/thumbnail`,
    width: num(payload.width),
    height: num(payload.height),
    format: str(payload['format']),
    file_size: num(payload['file_size']),
    category: str(payload.category),
    date_taken: str(payload.date_taken),
    created_at: str(payload.created_at),
  };
}
