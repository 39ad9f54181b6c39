// Integration: real HTTP on loopback — a small server with the Hugging Face hub's URL layout
// (tree API, /resolve/ with LFS redirects to a second "CDN" origin carrying x-linked-size and
// x-linked-etag, Range requests), real files on disk, and the CLI run as a process.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTsProcess } from '@image-search/testing';
import { fetchModel, MANIFEST, resolveTarget } from './fetch-model.js';
import type { HubOptions } from './hub.client.js';
import { createProgress, type ProgressReporter } from './progress.js';

interface HubFile {
  content: Buffer;
  lfs: boolean;
}
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const gitOid = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

function hfRepo(variants: string[]): Map<string, HubFile> {
  const files = new Map<string, HubFile>();
  for (const p of [
    'config.json',
    'preprocessor_config.json',
    'tokenizer.json',
    'tokenizer_config.json',
    'special_tokens_map.json',
    'README.md',
  ])
    files.set(p, { content: Buffer.from(JSON.stringify({ file: p, pad: 'x'.repeat(200) })), lfs: false });
  for (const v of variants)
    for (const t of ['vision', 'text'])
      files.set(`onnx/${t}_model${v}.onnx`, { content: randomBytes(256 * 1024 + 17), lfs: true });
  return files;
}

/** The fake hub: what it serves, what it saw, and the faults to inject. */
class FakeHub {
  repos = new Map<string, Map<string, HubFile>>();
  requests: { url: string; range?: string; auth?: string; host?: string }[] = [];
  /** path → remaining times to cut the connection half-way through the body. */
  drops = new Map<string, number>();
  /** path → bytes served instead of the real content (the listing keeps the real hash). */
  corrupt = new Map<string, Buffer>();
  gated = new Set<string>();
  treeApi = true;
  hub!: Server;
  cdn!: Server;
  hubUrl = '';
  cdnUrl = '';

  async start(): Promise<void> {
    this.hub = createServer((req, res) => this.handleHub(req, res));
    this.cdn = createServer((req, res) => this.handleCdn(req, res));
    for (const s of [this.hub, this.cdn]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    this.hubUrl = `http://127.0.0.1:${(this.hub.address() as AddressInfo).port}`;
    // A different origin (localhost vs 127.0.0.1 is a different host name) like the hub's CDN.
    this.cdnUrl = `http://localhost:${(this.cdn.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const s of [this.hub, this.cdn]) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  }

  private record(req: IncomingMessage) {
    this.requests.push({
      url: req.url ?? '',
      range: req.headers.range,
      auth: req.headers.authorization,
      host: req.headers.host,
    });
  }

  private handleHub(req: IncomingMessage, res: ServerResponse) {
    this.record(req);
    const url = new URL(req.url ?? '/', this.hubUrl);
    const tree = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/main$/.exec(url.pathname);
    if (tree) {
      const repo = this.repos.get(tree[1]!);
      if (!this.treeApi || !repo) return res.writeHead(404).end('{"error":"not found"}');
      if (this.gated.has(tree[1]!) && req.headers.authorization !== 'Bearer sekret') return res.writeHead(401).end();
      const entries = [...repo].map(([path, f]) =>
        f.lfs
          ? {
              type: 'file',
              path,
              size: f.content.length,
              oid: gitOid(Buffer.from('pointer')),
              lfs: { oid: sha256(f.content), size: f.content.length },
            }
          : { type: 'file', path, size: f.content.length, oid: gitOid(f.content) },
      );
      const all = [{ type: 'directory', path: 'onnx' }, ...entries];
      // Pages of 4 entries with a Link header, as the hub paginates long listings.
      const cursor = Number(url.searchParams.get('cursor') ?? 0);
      const page = all.slice(cursor, cursor + 4);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (cursor + 4 < all.length)
        headers['link'] = `<${this.hubUrl}${url.pathname}?recursive=true&cursor=${cursor + 4}>; rel="next"`;
      return res.writeHead(200, headers).end(JSON.stringify(page));
    }
    const m = /^\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/.exec(url.pathname);
    const repo = m && this.repos.get(m[1]!);
    const path = m && decodeURIComponent(m[2]!);
    const file = repo && path ? repo.get(path) : undefined;
    if (m && this.gated.has(m[1]!) && req.headers.authorization !== 'Bearer sekret') return res.writeHead(401).end();
    if (!file || !path) return res.writeHead(404).end('Entry not found');
    if (file.lfs) {
      return res
        .writeHead(302, {
          location: `${this.cdnUrl}/cdn/${m[1]}/${encodeURIComponent(path)}`,
          'x-linked-size': String(file.content.length),
          'x-linked-etag': `"${sha256(file.content)}"`,
          etag: '"gitpointer"',
        })
        .end();
    }
    this.serveBody(req, res, path, this.corrupt.get(path) ?? file.content, `"${gitOid(file.content)}"`);
  }

  private handleCdn(req: IncomingMessage, res: ServerResponse) {
    this.record(req);
    const m = /^\/cdn\/([^/]+\/[^/]+)\/(.+)$/.exec(new URL(req.url ?? '/', this.cdnUrl).pathname);
    const path = m && decodeURIComponent(m[2]!);
    const file = m && path ? this.repos.get(m[1]!)?.get(path) : undefined;
    if (!file || !path) return res.writeHead(404).end();
    this.serveBody(req, res, path, this.corrupt.get(path) ?? file.content, `"${sha256(file.content)}"`);
  }

  private serveBody(req: IncomingMessage, res: ServerResponse, path: string, body: Buffer, etag: string) {
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      start = Number(range[1]);
      if (start >= body.length) return res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
    }
    const slice = body.subarray(start);
    res.writeHead(range ? 206 : 200, {
      'content-length': String(slice.length),
      etag,
      'accept-ranges': 'bytes',
      ...(range ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    if (req.method === 'HEAD') return res.end();
    const drops = this.drops.get(path) ?? 0;
    if (drops > 0) {
      this.drops.set(path, drops - 1);
      res.write(slice.subarray(0, Math.floor(slice.length / 2)), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(slice);
  }
}

function quietProgress(): ProgressReporter & { done: number; total: number } {
  const p = {
    done: 0,
    total: 0,
    addTotal: (b: number) => void (p.total += b),
    add: (b: number) => void (p.done += b),
    file: () => {},
    stop: () => {},
  };
  return p;
}

/** Runs the CLI as a process (asynchronously: the fake hub lives in this process). */
async function runCli(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ status: number | string; output: string }> {
  const proc = startTsProcess('tools/src/fetch-model.cli.ts', env, args);
  const timer = setTimeout(() => void proc.stop('SIGKILL'), 60_000);
  const status = await proc.exited;
  clearTimeout(timer);
  return { status, output: proc.output() };
}

const ls = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

describe('tools:fetch-model against a loopback hub (real HTTP, real files)', () => {
  const hub = new FakeHub();
  let modelsDir: string;
  let opts: HubOptions;
  const logs: string[] = [];
  const log = (l: string) => void logs.push(l);

  beforeAll(async () => {
    await hub.start();
    hub.repos.set('Xenova/clip-vit-base-patch32', hfRepo(['', '_fp16', '_quantized']));
    hub.repos.set('Xenova/siglip-base-patch16-224', hfRepo(['']));
    const immich = new Map<string, HubFile>();
    for (const p of [
      'config.json',
      'visual/preprocess_cfg.json',
      'textual/tokenizer.json',
      'textual/tokenizer_config.json',
    ])
      immich.set(p, { content: Buffer.from(`{"f":"${p}"}`), lfs: false });
    for (const p of ['visual/model.onnx', 'textual/model.onnx', 'visual/fp16/model.armnn'])
      immich.set(p, { content: randomBytes(50_000), lfs: true });
    hub.repos.set('immich-app/ViT-B-32__laion2b_s34b_b79k', immich);
    hub.repos.set('acme/private-model', hfRepo(['']));
    hub.gated.add('acme/private-model');
  });
  afterAll(() => hub.stop());
  beforeEach(() => {
    modelsDir = mkdtempSync(join(tmpdir(), 'models-'));
    opts = { endpoint: hub.hubUrl, revision: 'main', retries: 3, backoffMs: () => 10 };
    hub.requests = [];
    hub.drops.clear();
    hub.corrupt.clear();
    hub.treeApi = true;
    logs.length = 0;
  });
  afterEach(() => rmSync(modelsDir, { recursive: true, force: true }));

  it('resolves the seed names: clip, siglip, other open_clip pairs (immich) and repository ids', () => {
    expect(resolveTarget('clip')).toEqual({
      repoId: 'Xenova/clip-vit-base-patch32',
      folder: 'ViT-B-32__openai',
      layout: 'hf',
    });
    expect(resolveTarget('siglip')).toEqual({
      repoId: 'Xenova/siglip-base-patch16-224',
      folder: 'ViT-B-16-SigLIP__webli',
      layout: 'hf',
    });
    expect(resolveTarget('clip', 'ViT-B-32', 'laion2b_s34b_b79k')).toMatchObject({
      repoId: 'immich-app/ViT-B-32__laion2b_s34b_b79k',
      layout: 'immich',
    });
    expect(resolveTarget('Xenova/clip-vit-large-patch14')).toEqual({
      repoId: 'Xenova/clip-vit-large-patch14',
      folder: 'clip-vit-large-patch14',
      layout: undefined,
    });
    // SigLIP 2: Google's checkpoints resolve to their transformers.js ONNX exports; NaFlex is refused.
    expect(resolveTarget('siglip2')).toEqual({
      repoId: 'onnx-community/siglip2-base-patch16-224-ONNX',
      folder: 'siglip2-base-patch16-224',
      layout: 'hf',
    });
    expect(resolveTarget('siglip2-so400m')).toMatchObject({
      repoId: 'onnx-community/siglip2-so400m-patch14-384-ONNX',
      folder: 'siglip2-so400m-patch14-384',
    });
    expect(resolveTarget('google/siglip2-base-patch16-256')).toMatchObject({
      repoId: 'onnx-community/siglip2-base-patch16-256-ONNX',
    });
    expect(resolveTarget('google/siglip2-base-patch16-224', 'ViT-B-16-SigLIP2', 'webli')).toMatchObject({
      folder: 'ViT-B-16-SigLIP2__webli',
    });
    expect(() => resolveTarget('google/siglip2-base-patch16-naflex')).toThrow(/NaFlex .* not run|do not run/);
    expect(() => resolveTarget('not a repo')).toThrow(/neither clip, siglip nor a hub repository id/);
    expect(() => resolveTarget('a/b', 'x')).toThrow(/--name and --pretrained go together/);
    expect(() => resolveTarget('clip', '../etc', 'x')).toThrow(/may only contain/);
  });

  it('installs clip (fp32) with verified files, a manifest, and no temporary files left', async () => {
    const progress = quietProgress();
    const r = await fetchModel({ target: 'clip', variant: 'fp32', modelsDir }, opts, log, progress);
    const dir = join(modelsDir, 'ViT-B-32__openai');
    expect(r.dir).toBe(dir);
    expect(r.layout).toBe('hf');
    const repo = hub.repos.get('Xenova/clip-vit-base-patch32')!;
    for (const p of [
      'config.json',
      'preprocessor_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'special_tokens_map.json',
      'onnx/vision_model.onnx',
      'onnx/text_model.onnx',
    ])
      expect(readFileSync(join(dir, p)).equals(repo.get(p)!.content), p).toBe(true);
    expect(existsSync(join(dir, 'onnx/vision_model_fp16.onnx'))).toBe(false);
    expect(existsSync(join(dir, 'README.md'))).toBe(false);
    const manifest = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as {
      files: { path: string; sha256: string }[];
    };
    expect(manifest.files.find((f) => f.path === 'onnx/text_model.onnx')!.sha256).toBe(
      sha256(repo.get('onnx/text_model.onnx')!.content),
    );
    expect(ls(modelsDir)).toEqual(['ViT-B-32__openai']);
    expect(progress.total).toBe(r.files.reduce((n, f) => n + f.size, 0));
    expect(progress.done).toBe(progress.total);
    // The listing came in pages, and the token-less CDN hop went to the other origin.
    expect(hub.requests.filter((q) => q.url.includes('/tree/main')).length).toBeGreaterThan(1);
    expect(hub.requests.some((q) => q.host?.startsWith('localhost'))).toBe(true);
  });

  it('resumes a dropped connection with a Range request and ends with intact files', async () => {
    hub.drops.set('onnx/vision_model.onnx', 2);
    const progress = quietProgress();
    await fetchModel({ target: 'clip', variant: 'fp32', modelsDir }, opts, log, progress);
    const cdn = hub.requests.filter((q) => q.url.endsWith('vision_model.onnx') && q.host?.startsWith('localhost'));
    expect(cdn).toHaveLength(3);
    expect(cdn[0]!.range).toBeUndefined();
    expect(Number(/bytes=(\d+)-/.exec(cdn[1]!.range ?? '')?.[1])).toBeGreaterThan(0);
    expect(
      readFileSync(join(modelsDir, 'ViT-B-32__openai/onnx/vision_model.onnx')).equals(
        hub.repos.get('Xenova/clip-vit-base-patch32')!.get('onnx/vision_model.onnx')!.content,
      ),
    ).toBe(true);
    expect(progress.done).toBe(progress.total);
  });

  it('refuses a corrupted file by its sha256, installs nothing, and says what differs', async () => {
    const good = hub.repos.get('Xenova/clip-vit-base-patch32')!.get('onnx/text_model.onnx')!.content;
    const bad = Buffer.from(good);
    bad[1000] ^= 0xff;
    hub.corrupt.set('onnx/text_model.onnx', bad);
    await expect(
      fetchModel({ target: 'clip', variant: 'fp32', modelsDir }, opts, log, quietProgress()),
    ).rejects.toThrow(new RegExp(`onnx/text_model.onnx is corrupt: sha256 ${sha256(bad)}, expected ${sha256(good)}`));
    expect(existsSync(join(modelsDir, 'ViT-B-32__openai'))).toBe(false);
    expect(existsSync(join(modelsDir, '.ViT-B-32__openai.download/onnx/text_model.onnx.partial'))).toBe(false);
    expect(existsSync(join(modelsDir, '.ViT-B-32__openai.lock'))).toBe(false);
    // A corrupted small (git) file is caught too (a fresh folder: verified files of the failed
    // run above would otherwise be reused, not downloaded again).
    modelsDir = mkdtempSync(join(tmpdir(), 'models-'));
    hub.corrupt.clear();
    hub.corrupt.set('tokenizer.json', Buffer.from('{"tampered":true}'));
    await expect(
      fetchModel({ target: 'clip', variant: 'fp32', modelsDir }, opts, log, quietProgress()),
    ).rejects.toThrow(/tokenizer.json is corrupt: size/);
    expect(existsSync(join(modelsDir, 'ViT-B-32__openai'))).toBe(false);
  });

  it('leaves a complete folder alone without asking the hub, and adds a variant without downloading the shared files', async () => {
    await fetchModel({ target: 'clip', variant: 'fp32', modelsDir }, opts, log, quietProgress());
    hub.requests = [];
    const again = await fetchModel({ target: 'clip', variant: 'fp32', modelsDir }, opts, log, quietProgress());
    expect(again.alreadyInstalled).toBe(true);
    expect(hub.requests).toEqual([]);
    const fp16 = await fetchModel({ target: 'clip', variant: 'fp16', modelsDir }, opts, log, quietProgress());
    const fetched = hub.requests
      .filter((q) => q.url.includes('/resolve/'))
      .map((q) => q.url.split('/resolve/main/')[1]);
    expect(fetched.sort()).toEqual(['onnx/text_model_fp16.onnx', 'onnx/vision_model_fp16.onnx']);
    const dir = join(modelsDir, 'ViT-B-32__openai');
    for (const p of ['onnx/vision_model.onnx', 'onnx/vision_model_fp16.onnx', 'tokenizer.json'])
      expect(existsSync(join(dir, p)), p).toBe(true);
    expect(fp16.files.map((f) => f.path)).toContain('onnx/vision_model.onnx');
    expect(ls(modelsDir)).toEqual(['ViT-B-32__openai']);
  });

  it('fetches immich layouts for other open_clip pairs (fp32 only, with a warning for another variant)', async () => {
    const r = await fetchModel(
      { target: 'clip', name: 'ViT-B-32', pretrained: 'laion2b_s34b_b79k', variant: 'fp16', modelsDir },
      opts,
      log,
      quietProgress(),
    );
    expect(r.layout).toBe('immich');
    expect(r.warnings.join()).toMatch(/fp32 only/);
    const dir = join(modelsDir, 'ViT-B-32__laion2b_s34b_b79k');
    for (const p of [
      'config.json',
      'visual/model.onnx',
      'visual/preprocess_cfg.json',
      'textual/model.onnx',
      'textual/tokenizer.json',
      'textual/tokenizer_config.json',
    ])
      expect(existsSync(join(dir, p)), p).toBe(true);
    expect(existsSync(join(dir, 'visual/fp16/model.armnn'))).toBe(false);
  });

  it('names the missing variant and the variants a repository has', async () => {
    await expect(
      fetchModel({ target: 'siglip', variant: 'fp16', modelsDir }, opts, log, quietProgress()),
    ).rejects.toThrow(
      /Xenova\/siglip-base-patch16-224 lacks onnx\/vision_model_fp16.onnx, onnx\/text_model_fp16.onnx \(variant fp16; variants this repository has: fp32\)/,
    );
    expect(ls(modelsDir).filter((n) => !n.startsWith('.'))).toEqual([]);
  });

  it('explains a gated repository, then uses HF_TOKEN on the hub and never sends it to the CDN', async () => {
    await expect(
      fetchModel({ target: 'acme/private-model', variant: 'fp32', modelsDir }, opts, log, quietProgress()),
    ).rejects.toThrow(/HTTP 401.*set HF_TOKEN/);
    hub.requests = [];
    const r = await fetchModel(
      { target: 'acme/private-model', variant: 'fp32', modelsDir },
      { ...opts, token: 'sekret' },
      log,
      quietProgress(),
    );
    expect(r.dir).toBe(join(modelsDir, 'private-model'));
    expect(hub.requests.filter((q) => q.host?.startsWith('127.0.0.1')).every((q) => q.auth === 'Bearer sekret')).toBe(
      true,
    );
    expect(hub.requests.filter((q) => q.host?.startsWith('localhost')).every((q) => q.auth === undefined)).toBe(true);
  });

  it('works with a mirror that has no listing API (sizes and hashes from the download headers)', async () => {
    hub.treeApi = false;
    hub.drops.set('onnx/text_model.onnx', 1);
    const r = await fetchModel({ target: 'siglip', variant: 'fp32', modelsDir }, opts, log, quietProgress());
    expect(r.warnings.join()).toMatch(/no file-listing API/);
    expect(r.files.map((f) => f.path)).toEqual(
      expect.arrayContaining(['onnx/text_model.onnx', 'special_tokens_map.json']),
    );
    expect(
      readFileSync(join(r.dir, 'onnx/text_model.onnx')).equals(
        hub.repos.get('Xenova/siglip-base-patch16-224')!.get('onnx/text_model.onnx')!.content,
      ),
    ).toBe(true);
    expect(r.files.find((f) => f.path === 'onnx/text_model.onnx_data')).toBeUndefined();
  });

  it('CLI: an interrupted run exits non-zero, and the next run resumes from the partial file', async () => {
    hub.drops.set('onnx/vision_model.onnx', 1);
    const env = { HF_ENDPOINT: hub.hubUrl, MODELS_DIR: modelsDir, FETCH_RETRIES: '0', HF_TOKEN: '' };
    const first = await runCli(['clip'], env);
    expect(first.status, first.output).toBe(1);
    expect(first.output).toMatch(/run the same command again to resume from \d+ bytes/);
    const partial = join(modelsDir, '.ViT-B-32__openai.download/onnx/vision_model.onnx.partial');
    const partialSize = statSync(partial).size;
    expect(partialSize).toBeGreaterThan(0);
    hub.requests = [];
    const second = await runCli(['clip'], env);
    expect(second.status, second.output).toBe(0);
    expect(second.output).toMatch(/resuming: .* already downloaded/);
    expect(second.output).toContain(`model folder: ${join(modelsDir, 'ViT-B-32__openai')}`);
    expect(
      hub.requests.find((q) => q.url.endsWith('vision_model.onnx') && q.host?.startsWith('localhost'))?.range,
    ).toBe(`bytes=${partialSize}-`);
    // Non-TTY progress: a plain line with done/total, rate and ETA.
    expect(second.output).toMatch(/fetch-model: [\d.]+ KiB \/ [\d.]+ KiB \(100%\) +[\d.]+ \w+\/s +ETA/);
  });

  it('CLI: bad arguments get a usage error naming the problem', async () => {
    const env = { MODELS_DIR: modelsDir, HF_ENDPOINT: hub.hubUrl };
    const badVariant = await runCli(['clip', '--variant', 'int3'], env);
    expect(badVariant.status).toBe(2);
    expect(badVariant.output).toMatch(/--variant must be one of fp32, fp16, quantized \(got "int3"\)/);
    const none = await runCli([], env);
    expect(none.status).toBe(2);
    expect(none.output).toMatch(/expected one model/);
    expect(hub.requests).toEqual([]);
  });
});

describe('progress reporter (no terminal)', () => {
  it('prints done/total, percentage, rate and ETA lines', () => {
    let out = '';
    const stream = new Writable({
      write(chunk: Buffer, _e, cb) {
        out += chunk.toString();
        cb();
      },
    }) as unknown as NodeJS.WriteStream;
    let t = 0;
    const p = createProgress({ stream, intervalMs: 1_000_000, now: () => t });
    p.addTotal(10 * 1024 * 1024);
    t = 2000;
    p.add(4 * 1024 * 1024);
    p.file('onnx/vision_model.onnx');
    p.stop();
    expect(out).toBe('fetch-model: 4.0 MiB / 10.0 MiB (40%)  2.0 MiB/s  ETA 3s  onnx/vision_model.onnx\n');
  });
});
