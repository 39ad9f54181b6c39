import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TINY_MODEL_VERSION, writeTinyModel, type Family, type TinyModelOptions } from '@image-search/model-builder';

const BUILDER_SRC = resolve(import.meta.dirname, '../../model-builder/src');

/** Short hash of the model builder's sources, so an edited builder never reuses stale cached models. */
async function builderHash(): Promise<string> {
  const h = createHash('sha256');
  const files = (await readdir(BUILDER_SRC)).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts')).sort();
  for (const f of files) h.update(f).update(await readFile(join(BUILDER_SRC, f)));
  return h.digest('hex').slice(0, 8);
}

const pending = new Map<string, Promise<string>>();

/**
 * A generated tiny model folder (see @image-search/model-builder `writeTinyModel`), built once per
 * machine under `os.tmpdir()/image-search-test-models/` and reused. Built in a temporary sibling
 * folder and renamed into place, so parallel test processes never see a half-written model.
 */
export function tinyModelDir(
  family: Family,
  kind: 'colour' | 'random' = 'colour',
  layout: 'hf' | 'immich' = 'hf',
  /** Noise on the text tower's weights (`writeTinyModel`'s weightNoise): a deliberately degraded model. */
  weightNoise = 0,
): Promise<string> {
  const key = `${family}-${kind}-${layout}${weightNoise > 0 ? `-noise${weightNoise}` : ''}`;
  let p = pending.get(key);
  if (!p) {
    p = build(key, { family, kind, layout, weightNoise });
    pending.set(key, p);
    void p.catch(() => pending.delete(key));
  }
  return p;
}

/** Removes cached builds of other builder versions (and abandoned temp folders) untouched for an hour. */
async function pruneStale(root: string, currentSuffix: string): Promise<void> {
  const cutoff = Date.now() - 3600_000;
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const path = join(root, name);
    if (name.endsWith(currentSuffix)) continue;
    const s = await stat(path).catch(() => undefined);
    if (s && s.mtimeMs < cutoff) await rm(path, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function build(key: string, opts: TinyModelOptions): Promise<string> {
  const root = join(tmpdir(), 'image-search-test-models');
  const suffix = `-v${TINY_MODEL_VERSION}-${await builderHash()}`;
  const dir = join(root, `${key}${suffix}`);
  void pruneStale(root, suffix);
  if (existsSync(dir)) return dir;
  const tmp = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    await writeTinyModel(tmp, opts);
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    // Another process finished first: its folder is complete, use it.
    if (existsSync(dir)) return dir;
    throw err;
  }
  return dir;
}
