import type { AssetPayload } from '@image-search/vector-store';

/** An asset as the API returns it. */
export interface AssetView {
  id: string;
  path: string | null;
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

/** Maps a stored payload to the API's asset shape (links relative to the API root). */
export function toAssetView(payload: AssetPayload): AssetView {
  const id = payload.asset_id;
  return {
    id,
    path: str(payload.path),
    url: `/api/v1/images/${id}/file`,
    thumbnail_url: `/api/v1/images/${id}/thumbnail`,
    width: num(payload.width),
    height: num(payload.height),
    format: str(payload['format']),
    file_size: num(payload['file_size']),
    category: str(payload.category),
    date_taken: str(payload.date_taken),
    created_at: str(payload.created_at),
  };
}
