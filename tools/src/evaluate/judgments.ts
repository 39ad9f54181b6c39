import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { z } from 'zod';
import { AppError } from '@image-search/service-kit';
import type { CatalogueEntry } from '@image-search/asset-catalogue';

/** A query as the input gives it: relevant items are asset ids, absolute paths or paths relative to a root. */
export interface RawJudgment {
  query: string;
  relevant: string[];
  grades?: Record<string, number> | undefined;
  slice?: string | undefined;
}

const judgmentSchema = z
  .object({
    query: z.string().trim().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters'),
    relevant: z.array(z.string().min(1)).min(1, 'must name at least one asset'),
    grades: z.record(z.string(), z.number().min(0).max(10)).optional(),
    slice: z.string().min(1).max(100).optional(),
  })
  .strict();

function issues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || 'line'}: ${i.message}`).join('; ');
}

/** Parses a JSONL judgments file's text: one `{"query", "relevant", "grades"?, "slice"?}` a line; blank lines ignored. */
export function parseJudgmentsJsonl(text: string, name: string): RawJudgment[] {
  const out: RawJudgment[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new AppError('INVALID_ARGUMENT', `${name} line ${i + 1}: not JSON (${(err as Error).message})`);
    }
    const parsed = judgmentSchema.safeParse(value);
    if (!parsed.success) throw new AppError('INVALID_ARGUMENT', `${name} line ${i + 1}: ${issues(parsed.error)}`);
    out.push(parsed.data);
  });
  if (out.length === 0) throw new AppError('INVALID_ARGUMENT', `${name}: no judgments (one JSON object a line)`);
  return out;
}

const cocoSchema = z.object({
  images: z.array(z.object({ id: z.union([z.number(), z.string()]), file_name: z.string().min(1) })).min(1),
  annotations: z
    .array(z.object({ image_id: z.union([z.number(), z.string()]), caption: z.string().trim().min(1) }))
    .min(1),
});

/**
 * COCO-style captions (`{"images": [{id, file_name}], "annotations": [{image_id, caption}]}`): each
 * caption is a query whose one relevant asset is its image, found under `imageDir`.
 */
export function parseCocoCaptions(text: string, name: string, imageDir: string): RawJudgment[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AppError('INVALID_ARGUMENT', `${name}: not JSON (${(err as Error).message})`);
  }
  const parsed = cocoSchema.safeParse(value);
  if (!parsed.success) throw new AppError('INVALID_ARGUMENT', `${name}: not COCO captions: ${issues(parsed.error)}`);
  const files = new Map(parsed.data.images.map((im) => [String(im.id), im.file_name]));
  return parsed.data.annotations.map((a, i) => {
    const file = files.get(String(a.image_id));
    if (!file)
      throw new AppError('INVALID_ARGUMENT', `${name}: annotations[${i}] names image_id ${a.image_id}, not in images`);
    return { query: a.caption, relevant: [resolve(imageDir, file)] };
  });
}

/**
 * Weak labels from folder names: one query per folder holding catalogued assets (the folder name,
 * dashes and underscores read as spaces), relevant = every asset in it. Weak, because a folder name
 * says where a file was put, not what it shows.
 */
export function judgmentsFromFolders(entries: readonly CatalogueEntry[]): RawJudgment[] {
  const byFolder = new Map<string, string[]>();
  for (const e of entries) {
    const folder = basename(dirname(e.path));
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), e.assetId]);
  }
  return [...byFolder.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([folder, ids]) => ({ query: folder.replace(/[-_]+/g, ' ').trim() || folder, relevant: ids }));
}

/** Reads a file an option names, with an error that names the option rather than a stack trace. */
export async function readInput(path: string, option: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new AppError(
      'INVALID_ARGUMENT',
      `${option} ${path}: cannot read it (${(err as NodeJS.ErrnoException).code})`,
    );
  }
}
