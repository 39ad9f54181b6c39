import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '@image-search/service-kit';
import type { RepoFile } from './select-files.js';

/** Where and how to reach the hub (huggingface.co or a mirror with the same URL layout). */
export interface HubOptions {
  endpoint: string;
  token?: string;
  revision: string;
  /** Attempts per file for dropped connections and 5xx answers. */
  retries: number;
  /** Backoff before retry n (ms); tests make it short. */
  backoffMs?: (attempt: number) => number;
}

const USER_AGENT = 'image-search-fetch-model/0.1';

function headers(opts: HubOptions, extra: Record<string, string> = {}): Record<string, string> {
  return { 'user-agent': USER_AGENT, ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...extra };
}

const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

/** `{endpoint}/{repo}/resolve/{revision}/{path}`: the hub's file URL layout. */
export function resolveUrl(opts: HubOptions, repoId: string, path: string): string {
  return `${opts.endpoint.replace(/\/+$/, '')}/${repoId}/resolve/${encodeURIComponent(opts.revision)}/${encodePath(path)}`;
}

function httpError(status: number, what: string, opts: HubOptions): AppError {
  if (status === 401 || status === 403)
    return new AppError(
      'PERMISSION_DENIED',
      `${what}: HTTP ${status}. The repository is gated or private: accept its terms on the hub and set HF_TOKEN${opts.token ? ' (the current token was refused)' : ''}.`,
    );
  if (status === 404)
    return new AppError('NOT_FOUND', `${what}: HTTP 404 (no such repository, revision or file at ${opts.endpoint})`);
  if (status === 429)
    return new AppError('RATE_LIMITED', `${what}: HTTP 429 (rate limited by the hub; set HF_TOKEN or retry later)`);
  return new AppError(status >= 500 ? 'UNAVAILABLE' : 'INTERNAL', `${what}: HTTP ${status}`);
}

/**
 * Lists a repository's files with sizes and hashes (`/api/models/{repo}/tree/{rev}?recursive=true`,
 * following `Link: rel="next"` pages). Undefined when the endpoint has no such API (some mirrors):
 * callers then fall back to a fixed file list and the headers of each download.
 */
export async function listRepoFiles(opts: HubOptions, repoId: string): Promise<RepoFile[] | undefined> {
  const files: RepoFile[] = [];
  let url: string | undefined =
    `${opts.endpoint.replace(/\/+$/, '')}/api/models/${repoId}/tree/${encodeURIComponent(opts.revision)}?recursive=true`;
  while (url) {
    const res: Response = await fetchWithRetry(opts, url, { headers: headers(opts) }, `list ${repoId}`);
    if (res.status === 404 && files.length === 0) {
      // Either the repository does not exist or the endpoint lacks the API: tell them apart.
      await res.body?.cancel();
      const probe = await fetch(resolveUrl(opts, repoId, 'config.json'), {
        method: 'HEAD',
        headers: headers(opts),
        redirect: 'manual',
      });
      if (probe.status === 404 || probe.status === 401)
        throw httpError(probe.status, `${repoId} at ${opts.endpoint}`, opts);
      return undefined;
    }
    if (!res.ok) throw httpError(res.status, `listing ${repoId}`, opts);
    const page = (await res.json()) as {
      type: string;
      path: string;
      size?: number;
      oid?: string;
      lfs?: { oid?: string; size?: number };
    }[];
    for (const e of page) {
      if (e.type !== 'file') continue;
      files.push({ path: e.path, size: e.lfs?.size ?? e.size, sha256: e.lfs?.oid, gitOid: e.lfs ? undefined : e.oid });
    }
    const next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '');
    url = next ? new URL(next[1]!, url).toString() : undefined;
  }
  return files;
}

async function fetchWithRetry(opts: HubOptions, url: string, init: RequestInit, what: string): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(url, init);
      if (res.status < 500 || attempt >= opts.retries) return res;
      await res.body?.cancel();
    } catch (err) {
      if (attempt >= opts.retries)
        throw new AppError(
          'UNAVAILABLE',
          `${what}: ${(err as Error).message} (gave up after ${attempt + 1} attempts; check the network or HF_ENDPOINT=${opts.endpoint})`,
          { cause: err },
        );
    }
    await sleep(opts.backoffMs?.(attempt) ?? Math.min(30_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the hub says about a file before its body: size and content hash (from a redirect's x-linked-* headers). */
interface FileHead {
  res: Response;
  linkedSize?: number;
  linkedEtag?: string;
}

/**
 * GET with redirects followed by hand: the hub answers LFS files with a redirect to a CDN whose
 * `x-linked-size` / `x-linked-etag` headers carry the size and sha256, which an automatic redirect
 * would hide. The token is not sent to another host.
 */
async function getFollowing(opts: HubOptions, url: string, extra: Record<string, string>): Promise<FileHead> {
  let current = url;
  let linkedSize: number | undefined;
  let linkedEtag: string | undefined;
  const origin = new URL(url).origin;
  for (let hop = 0; hop < 6; hop++) {
    const sameOrigin = new URL(current).origin === origin;
    const res = await fetch(current, {
      headers: sameOrigin ? headers(opts, extra) : { 'user-agent': USER_AGENT, ...extra },
      redirect: 'manual',
    });
    const size = res.headers.get('x-linked-size');
    if (size && /^\d+$/.test(size)) linkedSize = Number(size);
    linkedEtag = cleanEtag(res.headers.get('x-linked-etag')) ?? linkedEtag;
    if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
      await res.body?.cancel();
      current = new URL(res.headers.get('location')!, current).toString();
      continue;
    }
    return { res, linkedSize, linkedEtag };
  }
  throw new AppError('UNAVAILABLE', `too many redirects for ${url}`);
}

function cleanEtag(v: string | null): string | undefined {
  if (!v) return undefined;
  const s = v.replace(/^W\//, '').replace(/"/g, '').trim().toLowerCase();
  return /^[0-9a-f]{40}$|^[0-9a-f]{64}$/.test(s) ? s : undefined;
}

/** sha256, or git's blob sha1 (`blob <size>\0<content>`) for small files the hub stores in git. */
export async function hashFile(path: string, algo: 'sha256' | 'git-sha1'): Promise<string> {
  const h = createHash(algo === 'sha256' ? 'sha256' : 'sha1');
  if (algo === 'git-sha1') h.update(`blob ${(await stat(path)).size}\0`);
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

const fileSize = (p: string) =>
  stat(p).then(
    (s) => s.size,
    () => 0,
  );

/**
 * Downloads one file to `dest`, through `dest.partial`: a dropped connection or a 5xx resumes with
 * a Range request from the bytes already on disk (also across runs of the tool). The finished file
 * must match the expected size and hash (from the listing or the hub's headers); a mismatch
 * deletes the partial file and downloads once more from scratch before failing.
 * `onBytes` reports new bytes as they arrive (negative when a restart discards some).
 */
export async function downloadFile(
  opts: HubOptions,
  repoId: string,
  file: RepoFile,
  dest: string,
  onBytes: (delta: number, knownSize?: number) => void,
): Promise<{ size: number; sha256: string }> {
  const partial = `${dest}.partial`;
  const url = resolveUrl(opts, repoId, file.path);
  let hashRetried = false;
  let failures = 0;
  for (;;) {
    let have = await fileSize(partial);
    let expectedSize = file.size;
    let expectedHash = file.sha256 ?? file.gitOid;
    // True when the server sent the whole body it announced: a short file is then wrong, not cut.
    let responseComplete = false;
    // Bytes reported to onBytes in this attempt; after a drop, those not on disk are taken back.
    let received = 0;
    try {
      const { res, linkedSize, linkedEtag } = await getFollowing(
        opts,
        url,
        have > 0 ? { range: `bytes=${have}-` } : {},
      );
      expectedSize ??= linkedSize;
      expectedHash ??= linkedEtag ?? cleanEtag(res.headers.get('etag'));
      if (res.status === 416 && have > 0) {
        // Asked past the end: the partial file is already complete (or too long: start over).
        await res.body?.cancel();
        if (expectedSize !== undefined && have !== expectedSize) {
          onBytes(-have);
          await rm(partial, { force: true });
          continue;
        }
      } else if (res.status === 200 || res.status === 206) {
        if (res.status === 200 && have > 0) {
          // The server ignored the Range header: start from zero.
          onBytes(-have);
          await rm(partial, { force: true });
          have = 0;
        }
        if (res.status === 206) {
          const total = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1];
          if (total) expectedSize ??= Number(total);
        } else {
          const len = res.headers.get('content-length');
          if (len && /^\d+$/.test(len)) expectedSize ??= Number(len);
        }
        if (have === 0) onBytes(0, expectedSize);
        if (!res.body) throw new Error('empty response body');
        const declared = res.headers.get('content-length');
        const counter = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            received += chunk.length;
            onBytes(chunk.length);
            cb(null, chunk);
          },
        });
        await pipeline(
          Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
          counter,
          createWriteStream(partial, { flags: have > 0 ? 'a' : 'w' }),
        );
        responseComplete = declared !== null && received === Number(declared);
      } else {
        await res.body?.cancel();
        if (res.status >= 500 && failures < opts.retries) throw new Error(`HTTP ${res.status}`);
        throw httpError(res.status, `${repoId}/${file.path}`, opts);
      }
    } catch (err) {
      if (err instanceof AppError) throw err;
      // Chunks counted by the transform may not have reached the file when the connection
      // dropped; the next attempt resumes from what is on disk, so progress must too.
      const lost = have + received - (await fileSize(partial));
      if (received > 0 && lost > 0) onBytes(-lost);
      failures++;
      if (failures > opts.retries) {
        throw new AppError(
          'UNAVAILABLE',
          `${file.path}: ${(err as Error).message} (gave up after ${failures} attempts; run the same command again to resume from ${await fileSize(partial)} bytes)`,
          { cause: err },
        );
      }
      await sleep(opts.backoffMs?.(failures) ?? Math.min(30_000, 500 * 2 ** failures) * (0.5 + Math.random() / 2));
      continue;
    }

    const size = await fileSize(partial);
    if (expectedSize !== undefined && size < expectedSize && !responseComplete) {
      // The body ended early without an error (a proxy closed it): resume, do not restart.
      failures++;
      if (failures > opts.retries)
        throw new AppError(
          'UNAVAILABLE',
          `${file.path}: the connection keeps ending early at ${size} of ${expectedSize} bytes (gave up after ${failures} attempts; run again to resume)`,
        );
      continue;
    }
    const sha256 = await hashFile(partial, 'sha256');
    const problem =
      expectedSize !== undefined && size !== expectedSize
        ? `size ${size} bytes, expected ${expectedSize}`
        : expectedHash && expectedHash.length === 64 && sha256 !== expectedHash
          ? `sha256 ${sha256}, expected ${expectedHash}`
          : expectedHash && expectedHash.length === 40 && (await hashFile(partial, 'git-sha1')) !== expectedHash
            ? `git blob sha1 differs from ${expectedHash}`
            : undefined;
    if (problem) {
      onBytes(-size);
      await rm(partial, { force: true });
      if (!hashRetried) {
        hashRetried = true;
        continue;
      }
      throw new AppError(
        'FAILED_PRECONDITION',
        `${repoId}/${file.path} is corrupt: ${problem} (downloaded twice; the partial file was deleted, nothing was installed)`,
        {
          details: { path: file.path, size, sha256, expectedSize, expectedHash },
        },
      );
    }
    await rename(partial, dest);
    return { size, sha256 };
  }
}
