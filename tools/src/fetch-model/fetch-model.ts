import { constants } from 'node:fs';
import { link, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { AppError, isAppError } from '@image-search/service-kit';
import { DEFAULT_MODELS, modelFolderName, resolveHubModel } from '@image-search/embedding';
import { downloadFile, hashFile, listRepoFiles, type HubOptions } from './hub.client.js';
import { detectLayout, selectFiles, wantedFiles, type Layout, type RepoFile, type Variant } from './select-files.js';
import { createProgress, formatBytes, type ProgressReporter } from './progress.js';

/** What to fetch: a family default (`clip`, `siglip`, optionally another open_clip name) or a hub repository id. */
export interface FetchModelRequest {
  target: string;
  name?: string;
  pretrained?: string;
  variant: Variant;
  modelsDir: string;
  /** Install into exactly this folder instead of MODELS_DIR/NAME__PRETRAINED. */
  outDir?: string;
  /** Download again even when the folder is complete. */
  force?: boolean;
}

/** One installed file, as recorded in the folder's manifest. */
export interface InstalledFile {
  path: string;
  size: number;
  sha256: string;
}

/** What an install did. */
export interface FetchModelResult {
  dir: string;
  repoId: string;
  layout: Layout;
  files: InstalledFile[];
  downloadedBytes: number;
  /** True when the folder was already complete and nothing was fetched. */
  alreadyInstalled: boolean;
  warnings: string[];
}

/** Name of the manifest written into every installed model folder. */
export const MANIFEST = '.fetch-model.json';

interface Manifest {
  repoId: string;
  revision: string;
  layout: Layout;
  files: InstalledFile[];
  fetchedAt: string;
}

/** Short names of the SigLIP 2 fixed-resolution checkpoints (B/16 at 224 px, So400m/14 at 384 px). */
export const SIGLIP2_TARGETS: Record<string, string> = {
  siglip2: 'google/siglip2-base-patch16-224',
  'siglip2-so400m': 'google/siglip2-so400m-patch14-384',
};

/**
 * The ONNX export of a SigLIP 2 checkpoint: Google's repositories (google/siglip2-*) hold PyTorch and JAX
 * weights; their transformers.js exports (onnx/vision_model*.onnx, onnx/text_model*.onnx, the Gemma
 * tokenizer.json and preprocessor_config.json) are onnx-community/<name>-ONNX. NaFlex (variable
 * resolution) checkpoints take patch masks and sizes as inputs, which the embedders do not feed.
 */
export function siglip2Export(repoId: string): { repoId: string; folder: string } | undefined {
  const m = /^google\/(siglip2-[\w.-]+)$/.exec(repoId);
  if (!m) return undefined;
  if (m[1]!.includes('naflex'))
    throw new AppError(
      'INVALID_ARGUMENT',
      `${repoId} is a NaFlex (variable-resolution) SigLIP 2 checkpoint, which the embedders do not run; use a fixed-resolution one such as ${SIGLIP2_TARGETS['siglip2']} or ${SIGLIP2_TARGETS['siglip2-so400m']}`,
    );
  return { repoId: `onnx-community/${m[1]}-ONNX`, folder: m[1]! };
}

/** Where a target comes from and which folder it goes to. */
export function resolveTarget(
  target: string,
  name?: string,
  pretrained?: string,
): { repoId: string; folder: string; layout?: Layout } {
  if (target === 'clip' || target === 'siglip') {
    const n = name ?? DEFAULT_MODELS[target].name;
    const p = pretrained ?? DEFAULT_MODELS[target].pretrained;
    const ref = resolveHubModel(n, p);
    return { repoId: ref.repoId, folder: modelFolderName(n, p), layout: ref.layout };
  }
  const s2 = siglip2Export(SIGLIP2_TARGETS[target] ?? target);
  if (s2) return { ...s2, ...(name && pretrained ? { folder: modelFolderName(name, pretrained) } : {}), layout: 'hf' };
  if (!/^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(target)) {
    throw new AppError(
      'INVALID_ARGUMENT',
      `"${target}" is neither clip, siglip nor a hub repository id like Xenova/clip-vit-base-patch32 or immich-app/ViT-B-32__laion2b_s34b_b79k`,
    );
  }
  if ((name === undefined) !== (pretrained === undefined))
    throw new AppError(
      'INVALID_ARGUMENT',
      '--name and --pretrained go together (they name the folder NAME__PRETRAINED)',
    );
  const base = target.split('/')[1]!;
  const folder = name && pretrained ? modelFolderName(name, pretrained) : base;
  return {
    repoId: target,
    folder,
    layout: base.includes('__') && target.startsWith('immich-app/') ? 'immich' : undefined,
  };
}

async function readManifest(dir: string): Promise<Manifest | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** True when `dir` holds every required file of the layout/variant with the recorded sizes. */
async function isComplete(
  dir: string,
  manifest: Manifest | undefined,
  repoId: string,
  variant: Variant,
): Promise<boolean> {
  if (!manifest || manifest.repoId !== repoId) return false;
  const recorded = new Map(manifest.files.map((f) => [f.path, f]));
  for (const p of wantedFiles(manifest.layout, manifest.layout === 'immich' ? 'fp32' : variant).required) {
    const f = recorded.get(p);
    if (!f) return false;
    const s = await stat(join(dir, p)).catch(() => undefined);
    if (!s || s.size !== f.size) return false;
  }
  return true;
}

/** An exclusive lock file next to the download folder; a stale one (dead pid) is taken over. */
async function lock(path: string): Promise<() => Promise<void>> {
  for (let i = 0; i < 2; i++) {
    try {
      const fh = await open(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY);
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(await readFile(path, 'utf8').catch(() => '0'));
      let alive = false;
      try {
        if (pid > 0) {
          process.kill(pid, 0);
          alive = true;
        }
      } catch {
        alive = false;
      }
      if (alive)
        throw new AppError(
          'FAILED_PRECONDITION',
          `another fetch-model (pid ${pid}) is installing into the same folder; wait for it, or delete ${path} if it is gone`,
        );
      await rm(path, { force: true });
    }
  }
  throw new AppError('FAILED_PRECONDITION', `could not take the lock ${path}`);
}

/**
 * Downloads a model from the hub into a temporary folder inside MODELS_DIR and renames it into
 * place once every file has its expected size and hash, so the embedders never see a half-written
 * model. Re-running resumes an interrupted download; a complete folder is left alone.
 */
export async function fetchModel(
  req: FetchModelRequest,
  hub: HubOptions,
  log: (line: string) => void = console.log,
  progress?: ProgressReporter,
): Promise<FetchModelResult> {
  const { repoId, folder, layout: knownLayout } = resolveTarget(req.target, req.name, req.pretrained);
  const modelsDir = resolve(req.modelsDir);
  const dest = resolve(req.outDir ?? join(modelsDir, folder));
  const parent = dirname(dest);
  const warnings: string[] = [];
  const current = await readManifest(dest);
  if (!req.force && (await isComplete(dest, current, repoId, req.variant))) {
    log(`${repoId} is already installed in ${dest} (use --force to download it again)`);
    return {
      dir: dest,
      repoId,
      layout: current!.layout,
      files: current!.files,
      downloadedBytes: 0,
      alreadyInstalled: true,
      warnings,
    };
  }
  await mkdir(parent, { recursive: true });
  const base = dest.split('/').pop()!;
  const unlock = await lock(join(parent, `.${base}.lock`));
  const tmp = join(parent, `.${base}.download`);
  const bar = progress ?? createProgress();
  try {
    log(`fetching ${repoId} (revision ${hub.revision}) from ${hub.endpoint} into ${dest}`);
    const listing = await listRepoFiles(hub, repoId);
    let layout: Layout;
    let selected: RepoFile[];
    if (listing) {
      layout =
        knownLayout ??
        detectLayout(
          repoId,
          listing.map((f) => f.path),
        );
    } else {
      layout = knownLayout ?? 'hf';
      warnings.push(`${hub.endpoint} has no file-listing API; sizes and hashes come from each download's headers`);
    }
    let variant = req.variant;
    if (layout === 'immich' && variant !== 'fp32') {
      warnings.push(`immich's exports exist in fp32 only; fetching fp32 instead of ${variant}`);
      variant = 'fp32';
    }
    const optional = new Set(wantedFiles(layout, variant).optional);
    if (listing) selected = selectFiles(repoId, listing, layout, variant);
    else {
      const w = wantedFiles(layout, variant);
      selected = [...w.required, ...w.optional].map((path) => ({ path }));
    }
    for (const w of warnings) log(`warning: ${w}`);

    await mkdir(tmp, { recursive: true });
    const installed: InstalledFile[] = [];
    const todo: RepoFile[] = [];
    const recorded = new Map((current?.repoId === repoId ? current.files : []).map((f) => [f.path, f]));
    for (const f of selected) {
      const target = join(tmp, f.path);
      await mkdir(dirname(target), { recursive: true });
      if (await sameContent(target, f)) {
        installed.push({ path: f.path, size: (await stat(target)).size, sha256: await hashFile(target, 'sha256') });
        continue;
      }
      const old = recorded.get(f.path);
      if (!req.force && old && (await sameContent(join(dest, f.path), f))) {
        // Same content already installed (another variant is being added): link, do not download.
        await rm(target, { force: true });
        await link(join(dest, f.path), target);
        installed.push(old);
        continue;
      }
      todo.push(f);
    }
    let resumed = 0;
    for (const f of todo)
      resumed += await stat(join(tmp, `${f.path}.partial`)).then(
        (s) => s.size,
        () => 0,
      );
    bar.addTotal(todo.reduce((n, f) => n + (f.size ?? 0), 0));
    bar.add(resumed);
    if (resumed > 0) log(`resuming: ${formatBytes(resumed)} already downloaded`);
    let downloaded = 0;
    for (const f of todo) {
      bar.file(f.path);
      try {
        const r = await downloadFile(hub, repoId, f, join(tmp, f.path), (delta, knownSize) => {
          if (knownSize !== undefined && f.size === undefined) bar.addTotal(knownSize);
          bar.add(delta);
          downloaded += delta;
        });
        installed.push({ path: f.path, ...r });
      } catch (err) {
        if (!listing && optional.has(f.path) && isAppError(err, 'NOT_FOUND')) continue;
        throw err;
      }
    }
    bar.stop();

    // Files of other variants already installed stay: link them into the new folder.
    const keep = (current?.repoId === repoId ? current.files : []).filter(
      (f) => !installed.some((i) => i.path === f.path),
    );
    for (const f of keep) {
      if (!(await exists(join(dest, f.path)))) continue;
      await mkdir(dirname(join(tmp, f.path)), { recursive: true });
      await rm(join(tmp, f.path), { force: true });
      await link(join(dest, f.path), join(tmp, f.path));
      installed.push(f);
    }
    const manifest: Manifest = {
      repoId,
      revision: hub.revision,
      layout,
      files: installed.sort((a, b) => a.path.localeCompare(b.path)),
      fetchedAt: new Date().toISOString(),
    };
    await writeFile(join(tmp, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    await swapInto(tmp, dest);
    log(
      `installed ${repoId} (${layout} layout, ${installed.length} files, ${formatBytes(installed.reduce((n, f) => n + f.size, 0))}) in ${dest}`,
    );
    return {
      dir: dest,
      repoId,
      layout,
      files: manifest.files,
      downloadedBytes: downloaded,
      alreadyInstalled: false,
      warnings,
    };
  } catch (err) {
    bar.stop();
    throw err;
  } finally {
    await unlock();
  }
}

/** Whether a file on disk is the listed file (by sha256, or git blob id for small files); never true without a hash. */
async function sameContent(path: string, f: RepoFile): Promise<boolean> {
  const s = await stat(path).catch(() => undefined);
  if (!s?.isFile() || (f.size !== undefined && s.size !== f.size)) return false;
  if (f.sha256) return (await hashFile(path, 'sha256')) === f.sha256;
  if (f.gitOid) return (await hashFile(path, 'git-sha1')) === f.gitOid;
  return false;
}

/** Replaces `dest` with the finished folder by renames on one filesystem (never a partial copy). */
async function swapInto(tmp: string, dest: string): Promise<void> {
  if (!(await exists(dest))) {
    await rename(tmp, dest);
    return;
  }
  const old = `${dest}.old-${process.pid}-${Date.now()}`;
  await rename(dest, old);
  try {
    await rename(tmp, dest);
  } catch (err) {
    await rename(old, dest);
    throw err;
  }
  await rm(old, { recursive: true, force: true });
}
