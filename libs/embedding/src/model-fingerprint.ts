import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ModelFolder } from './model-folder.js';

/** sha256 of a file's bytes, streamed (weights files are hundreds of MB). */
async function fileHash(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The graph file and its external-data files (`model.onnx_data`, `model.onnx.data`, …), sorted. */
async function weightFiles(graph: string): Promise<string[]> {
  const name = basename(graph);
  const siblings = await readdir(dirname(graph));
  return siblings
    .filter((f) => f === name || f.startsWith(`${name}_`) || f.startsWith(`${name}.`))
    .sort()
    .map((f) => join(dirname(graph), f));
}

/** JSON with sorted keys, so the same config always hashes the same. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/**
 * The fingerprint of everything that changes a model's embeddings: the bytes of both towers'
 * weights, the preprocessing as the loader understood it, the tokenizer and its config, the
 * context length, the family and the weight variant. File paths and the folder layout are left
 * out, so the same model gives the same fingerprint on every machine. `sha256:<64 hex>`.
 */
export async function modelFingerprint(folder: ModelFolder): Promise<string> {
  const [vision, text] = await Promise.all([weightFiles(folder.visionPath), weightFiles(folder.textPath)]);
  const hashes = async (files: string[]) =>
    Promise.all(files.map(async (f) => ({ file: basename(f), sha256: await fileHash(f) })));
  const parts = {
    v: 1,
    family: folder.family,
    variant: folder.variant,
    contextLength: folder.contextLength,
    image: folder.image,
    tokenizer: createHash('sha256').update(canonical(folder.tokenizerJson)).digest('hex'),
    tokenizerConfig: folder.tokenizerConfig,
    vision: (await hashes(vision)).map((h) => h.sha256),
    text: (await hashes(text)).map((h) => h.sha256),
  };
  return `sha256:${createHash('sha256').update(canonical(parts)).digest('hex')}`;
}
