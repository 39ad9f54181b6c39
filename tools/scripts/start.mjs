#!/usr/bin/env node
// `npm start`: the whole system on one machine with Node only (no Docker, no Qdrant, no GPU).
// Runs the TypeScript sources with tsx (`node --import tsx`) rather than building bundles first:
// nothing to compile on a fresh clone, the services resolve their files (proto/, the gateway's
// public/) exactly as in development and tests, and stack traces point at the sources. The
// container images run the esbuild bundles instead (apps/*/Dockerfile).
//
// Steps: Redis (REDIS_URL or a private redis-server) → models (real from MODELS_DIR, else the demo
// models) → clip-embedder + siglip-embedder → collections (with the demo models, while the
// embedders load) → reembed-worker + gateway → ingest the sample folder → print the search page URL.
// Ctrl-C stops everything. A service that crashes while
// the stack starts stops the stack with its exit code; once it is up, a crashed service is restarted
// with exponential backoff while the others keep serving, and a crash loop stops only that service
// (the gateway's crash loop stops the stack, so a service manager can start it afresh).
// Settings: tools/scripts/start-config.mjs and docs/runbook.md.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ensureRedis } from './redis-env.mjs';
import { newAdminToken, readStartConfig, ROOT } from './start-config.mjs';
import { freePort, grpcInfo, grpcServing, httpOk, portFree, waitUntil } from './start-health.mjs';
import { ensureDemoModels, hubReachable, looksLikeModel, realModelDir, servedRegistryModels } from './start-models.mjs';
import { Supervisor } from './start-supervisor.mjs';

let config;
try {
  config = readStartConfig();
} catch (err) {
  console.error(`npm start: ${err.message}`);
  process.exit(2);
}

const STOP_ORDER = ['gateway', 'reembed-worker', 'siglip-embedder', 'clip-embedder'];
const rel = (p) => {
  const r = relative(process.cwd(), p);
  return r === '' ? '.' : r.startsWith('..') ? p : r;
};
let redis;
let stopping;
let failure;

const sup = new Supervisor({
  format: config.logFormat,
  color: config.color,
  env: { LOG_LEVEL: config.logLevel, START_STACK_ID: config.stackId },
  onUnexpectedExit: (svc, code, signal) => {
    failure ??= `${svc.name} exited unexpectedly with ${signal ? `signal ${signal}` : `exit code ${code}`} (its last log lines are above)`;
    void shutdown(1);
  },
  onStateChange: () => {
    if (sup.policy && !stopping) say(`services: ${sup.stateLine()}`);
  },
  onGiveUp: (svc) => {
    // Without the gateway nothing is served: exit non-zero so systemd (Restart=on-failure) starts afresh.
    if (svc.name !== 'gateway') return;
    failure ??= 'the gateway is in a crash loop (its last log lines are above)';
    void shutdown(1);
  },
});
const say = (text) => sup.log('start', text);

async function shutdown(code) {
  stopping ??= (async () => {
    if (failure) say(`${failure}; stopping the other services`);
    else say('stopping the services (gateway first, embedders last)');
    sup.stopOneShots();
    const unclean = await sup.stop(STOP_ORDER);
    for (const s of unclean)
      if (!failure || !failure.startsWith(s.name))
        say(`${s.name} stopped with ${s.signal ? `signal ${s.signal}` : `exit code ${s.exitCode}`}`);
    await redis?.stop();
    say(code === 0 ? 'stopped; every process has exited' : 'stopped after a failure');
    process.exit(code);
  })();
  return stopping;
}

process.on('SIGUSR2', () => {
  if (stopping) return;
  if (sup.restartFailed().length === 0) say(`SIGUSR2: no service is stopped after a crash loop (${sup.stateLine()})`);
});

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (stopping) {
      say(`${sig} again: killing every process now`);
      sup.killAll();
      process.exit(130);
    }
    void shutdown(0);
  });
}

const failedReason = (name) => () => {
  if (stopping) return 'stopping';
  const svc = sup.services.find((s) => s.name === name);
  return svc && (svc.exitCode !== null || svc.signal !== null)
    ? `exited with ${svc.signal ? `signal ${svc.signal}` : `exit code ${svc.exitCode}`}`
    : undefined;
};

async function resolvePorts() {
  // A port picked for 0 is free only until it is closed again, so the kernel can hand the same one out twice:
  // never give two services one port (a self-healing e2e run once gave the worker's health port to SigLIP's gRPC).
  const taken = new Set(Object.values(config.ports).filter((p) => p !== 0));
  for (const [name, p] of Object.entries(config.ports)) {
    if (p === 0) {
      let port = await freePort();
      while (taken.has(port)) port = await freePort();
      taken.add(port);
      config.ports[name] = port;
    } else if (!(await portFree(p)))
      throw new Error(
        `port ${p} (${name}) is already in use: stop what listens there, or set ${name}=<another port> (0 picks a free one)`,
      );
  }
}

async function chooseModels() {
  const clipDir = realModelDir(config.clipModel, config.modelsDir);
  const siglipDir = realModelDir(config.siglipModel, config.modelsDir);
  let haveReal = looksLikeModel(clipDir) && looksLikeModel(siglipDir);
  if (config.models !== 'demo' && !haveReal && config.fetchModels) {
    say(`FETCH_MODELS=true: downloading the real models into ${rel(config.modelsDir)} (about 1 GB)`);
    for (const [family, m] of [
      ['clip', config.clipModel],
      ['siglip', config.siglipModel],
    ]) {
      const code = await sup.run('fetch-model', 'tools/src/fetch-model.cli.ts', {
        args: [family, '--name', m.name, '--pretrained', m.pretrained, ...(m.dir ? ['--out', m.dir] : [])],
        env: { MODELS_DIR: config.modelsDir },
        inherit: true,
      });
      if (code !== 0) throw new Error(`tools:fetch-model ${family} failed (exit code ${code}); see above`);
    }
    haveReal = looksLikeModel(clipDir) && looksLikeModel(siglipDir);
  }
  if (haveReal && config.models !== 'demo') {
    say(`models: real — CLIP ${rel(clipDir)}, SigLIP ${rel(siglipDir)}`);
    return { demo: false, clip: { MODEL_DIR: clipDir }, siglip: { MODEL_DIR: siglipDir }, clipDir, siglipDir };
  }
  if (config.models === 'real') {
    throw new Error(
      `MODELS=real but no complete model in ${rel(clipDir)} and ${rel(siglipDir)}. Install them with:\n  npx nx run tools:fetch-model -- clip\n  npx nx run tools:fetch-model -- siglip`,
    );
  }
  if (config.models === 'auto') {
    const missing = [clipDir, siglipDir].filter((d) => !looksLikeModel(d)).map(rel);
    const reachable = await hubReachable(config.hfEndpoint);
    say(`real models are not installed (no model in ${missing.join(' or ')}).`);
    if (reachable) {
      say(
        `  Download them (about 1 GB) with: npx nx run tools:fetch-model -- clip && npx nx run tools:fetch-model -- siglip`,
      );
      say(`  or start with FETCH_MODELS=true npm start`);
    } else {
      say(
        `  Could not download real weights here: ${config.hfEndpoint} is not reachable from this machine (no network, or set HF_ENDPOINT to a mirror).`,
      );
    }
  }
  const demo = await ensureDemoModels(config.demoModelsDir, say);
  say(
    `models: DEMO — the project's tiny 'colour' models (${rel(config.demoModelsDir)}); they understand colour words only: ${demo.words.join(', ')}`,
  );
  return {
    demo: true,
    clip: { MODEL_DIR: demo.clip.dir, CLIP_EMBEDDING_DIM: String(demo.clip.dim) },
    siglip: { MODEL_DIR: demo.siglip.dir, SIGLIP_EMBEDDING_DIM: String(demo.siglip.dim) },
    words: demo.words,
    extra: demo.extra,
  };
}

async function ingestSamples(base, token) {
  const res = await fetch(`${base}/api/v1/assets/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ root_path: config.sampleDir, recursive: true }),
  });
  const body = await res.json().catch(() => ({}));
  if (res.status !== 202)
    throw new Error(`ingest of ${config.sampleDir} was refused: HTTP ${res.status} ${JSON.stringify(body)}`);
  let last = '';
  let status;
  await waitUntil(
    `ingesting ${rel(config.sampleDir)}`,
    async () => {
      const r = await fetch(`${base}${body.status_url}`, { headers: { authorization: `Bearer ${token}` } });
      status = await r.json();
      const line = `ingest: ${status.state} — ${status.done ?? 0}/${status.total ?? '?'} done, ${status.skipped ?? 0} unchanged, ${status.failed ?? 0} failed`;
      if (line !== last) say(line);
      last = line;
      return status.state === 'completed' || status.state === 'failed';
    },
    { timeoutMs: 10 * 60_000, intervalMs: 500, failed: failedReason('gateway') },
  );
  if (status.state === 'failed') throw new Error(`ingest failed: ${status.last_error ?? 'see the gateway log above'}`);
  return status;
}

async function main() {
  const t0 = Date.now();
  await resolvePorts();
  const p = config.ports;

  const models = await chooseModels();
  const dataDir = config.dataDir ?? join(ROOT, models.demo ? 'data/demo' : 'data/local');
  mkdirSync(dataDir, { recursive: true });
  // A private Redis keeps its data in DATA_DIR/redis with AOF: stopping and starting the stack
  // mid-run resumes the run instead of losing it.
  redis = await ensureRedis(config.redisUrl, say, { persistDir: join(dataDir, 'redis') });
  const tokenFile = join(dataDir, 'admin-token');
  const adminToken =
    config.adminToken ??
    (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined) ??
    newAdminToken();
  if (!config.adminToken) writeFileSync(tokenFile, `${adminToken}\n`, { mode: 0o600 });
  const flagsFile = config.flagsFile ?? join(dataDir, 'flags.yaml');
  if (!existsSync(flagsFile)) {
    writeFileSync(
      flagsFile,
      '# Rollout flags, applied live by the gateway (FLAGS_FILE) within a second of saving; they override the environment.\n# SIGLIP_ROLLOUT_PERCENTAGE: 10\n# USE_SIGLIP: true\n# SIGLIP_MIN_COVERAGE: 1.0\n',
    );
  }
  if (config.sampleDir && config.generateSamples) {
    const code = await sup.run('setup', 'tools/src/make-sample-images.cli.ts', { args: ['--out', config.sampleDir] });
    if (code !== 0) throw new Error(`tools:make-sample-images failed (exit code ${code})`);
  }
  if (config.sampleDir && !existsSync(config.sampleDir))
    throw new Error(`SAMPLE_DIR ${config.sampleDir} does not exist (set SAMPLE_DIR=none to skip the sample ingest)`);
  const roots = [...new Set([...(config.sampleDir ? [config.sampleDir] : []), ...config.extraAssetRoots])];
  if (roots.length === 0) {
    // The gateway and the worker only read images under ASSET_ROOTS and refuse to start without one.
    roots.push(join(dataDir, 'library'));
    mkdirSync(roots[0], { recursive: true });
    say(
      `no SAMPLE_DIR and no ASSET_ROOTS: using ${rel(roots[0])} as the allowed image folder (set ASSET_ROOTS to your photo folders)`,
    );
  }
  const assetRoots = roots.join(',');
  // With QDRANT_URL the vectors go to Qdrant; DATA_DIR still holds thumbnails, token and flags.
  const store = { DATA_DIR: dataDir, ...(config.qdrantUrl ? { QDRANT_URL: config.qdrantUrl } : {}) };
  say(
    `vector store: ${config.qdrantUrl ? `Qdrant at ${config.qdrantUrl}` : `embedded (LanceDB) in ${rel(dataDir)}`}; Redis: ${redis.url}`,
  );

  const clipAddr = `127.0.0.1:${p.CLIP_EMBEDDER_PORT}`;
  const siglipAddr = `127.0.0.1:${p.SIGLIP_EMBEDDER_PORT}`;
  // A fixed glibc mmap threshold returns the model's freed load buffers to the OS (docs/benchmarks/memory.md).
  const common = {
    MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? '131072',
    EMBEDDER_HOST: '127.0.0.1',
    MODELS_DIR: config.modelsDir,
  };
  // The collections: a tool process each, both at once (its start takes seconds on a busy machine; they
  // are separate tables). The demo models' sizes are known now (each embedder refuses to start with a
  // model of another size), so theirs are created while the embedders load; real ones once they say.
  const createCollections = (clipDim, siglipDim) =>
    Promise.all(
      [['clip', clipDim], ...(config.createSiglipCollection ? [['siglip', siglipDim]] : [])].map(([family, dim]) =>
        sup
          .run('setup', 'tools/src/create-collection.cli.ts', {
            args: ['--model', family, '--dim', String(dim)],
            env: store,
          })
          .then((code) => ({ family, code })),
      ),
    );
  const collections = models.demo
    ? createCollections(models.clip.CLIP_EMBEDDING_DIM, models.siglip.SIGLIP_EMBEDDING_DIM)
    : undefined;
  sup.start('clip-embedder', 'apps/clip-embedder/src/main.ts', {
    ready: () => grpcServing(clipAddr),
    env: {
      ...common,
      ...models.clip,
      EMBEDDER_PORT: String(p.CLIP_EMBEDDER_PORT),
      METRICS_PORT: String(p.CLIP_METRICS_PORT),
    },
  });
  sup.start('siglip-embedder', 'apps/siglip-embedder/src/main.ts', {
    ready: () => grpcServing(siglipAddr),
    env: {
      ...common,
      ...models.siglip,
      EMBEDDER_PORT: String(p.SIGLIP_EMBEDDER_PORT),
      METRICS_PORT: String(p.SIGLIP_METRICS_PORT),
    },
  });
  const timeoutMs = (config.startTimeoutS ?? (models.demo ? 120 : 600)) * 1000;
  await Promise.all([
    waitUntil('clip-embedder', () => grpcServing(clipAddr), { timeoutMs, failed: failedReason('clip-embedder') }),
    waitUntil('siglip-embedder', () => grpcServing(siglipAddr), { timeoutMs, failed: failedReason('siglip-embedder') }),
  ]);
  const [clipInfo, siglipInfo] = await Promise.all([grpcInfo(clipAddr), grpcInfo(siglipAddr)]);
  // Models MODEL_REGISTRY_FILE adds with a model_dir: npm start serves each with its family's embedder.
  const extra = config.registryFile ? await servedRegistryModels(config.registryFile, models) : [];
  for (const m of extra) {
    const name = `${m.id}-embedder`;
    STOP_ORDER.splice(STOP_ORDER.indexOf('siglip-embedder'), 0, name);
    sup.start(name, `apps/${m.family === 'clip' ? 'clip' : 'siglip'}-embedder/src/main.ts`, {
      ready: () => grpcServing(m.address),
      env: {
        ...common,
        MODEL_DIR: m.dir,
        [m.family === 'clip' ? 'CLIP_EMBEDDING_DIM' : 'SIGLIP_EMBEDDING_DIM']: String(m.dim),
        EMBEDDER_PORT: String(m.port),
        METRICS_PORT: '0',
      },
    });
  }
  await Promise.all(
    extra.map((m) =>
      waitUntil(`${m.id}-embedder`, () => grpcServing(m.address), {
        timeoutMs,
        failed: failedReason(`${m.id}-embedder`),
      }),
    ),
  );
  for (const m of extra) {
    const info = await grpcInfo(m.address);
    say(`registry model ${m.id}: served from ${rel(m.dir)} on ${m.address} (${info.embeddingDim} dims)`);
  }
  say(
    `embedders serving: CLIP ${clipInfo.modelId} (${clipInfo.embeddingDim} dims, ${clipInfo.executionProvider}), SigLIP ${siglipInfo.modelId} (${siglipInfo.embeddingDim} dims, ${siglipInfo.executionProvider})`,
  );

  const created = await (collections ?? createCollections(clipInfo.embeddingDim, siglipInfo.embeddingDim));
  for (const { family, code } of created)
    if (code !== 0)
      throw new Error(
        `creating the ${family} collection failed (exit code ${code}); if DATA_DIR holds collections of other models, use another DATA_DIR`,
      );
  if (!config.createSiglipCollection)
    say('CREATE_SIGLIP_COLLECTION=false: the SigLIP collection is left for you to create (docs/runbook.md, step 1)');

  const services = {
    REDIS_URL: redis.url,
    QUEUE_PREFIX: config.queuePrefix,
    ASSET_ROOTS: assetRoots,
    ...store,
    ...(config.registryFile ? { MODEL_REGISTRY_FILE: config.registryFile } : {}),
  };
  sup.start('reembed-worker', 'apps/reembed-worker/src/main.ts', {
    ready: () => httpOk(`http://127.0.0.1:${p.WORKER_HEALTH_PORT}/health`),
    env: {
      ...services,
      WORKER_HEALTH_HOST: '127.0.0.1',
      WORKER_HEALTH_PORT: String(p.WORKER_HEALTH_PORT),
      SIGLIP_EMBEDDER_URL: siglipAddr,
      SIGLIP_EMBEDDING_DIM: String(siglipInfo.embeddingDim),
    },
  });
  const base = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${p.GATEWAY_PORT}`;
  sup.start('gateway', 'apps/gateway/src/main.ts', {
    ready: () => httpOk(`${base}/health`),
    env: {
      ...services,
      GATEWAY_HOST: config.host,
      GATEWAY_PORT: String(p.GATEWAY_PORT),
      CLIP_EMBEDDER_URL: clipAddr,
      SIGLIP_EMBEDDER_URL: siglipAddr,
      ADMIN_TOKEN: adminToken,
      FLAGS_FILE: flagsFile,
      COVERAGE_REFRESH_MS: '2000',
    },
  });
  await Promise.all([
    waitUntil('reembed-worker', () => httpOk(`http://127.0.0.1:${p.WORKER_HEALTH_PORT}/ready`), {
      timeoutMs: 60_000,
      failed: failedReason('reembed-worker'),
    }),
    waitUntil('gateway', () => httpOk(`${base}/ready`), { timeoutMs: 60_000, failed: failedReason('gateway') }),
  ]);

  if (config.restarts) {
    sup.supervise(config.restartPolicy);
    const rp = config.restartPolicy;
    say(
      `restart policy: a crashed service is restarted after ${rp.baseMs / 1000} s, doubling up to ${rp.maxMs / 1000} s; ${rp.maxCrashes} crashes within ${rp.windowMs / 1000} s stop it (START_RESTART_*, START_CRASH_LOOP_*)`,
    );
    say(`services: ${sup.stateLine()}`);
  }

  // The same settings for the tools (create-collection, reembed, embed) against this stack:
  //   set -a; . data/demo/stack.env; set +a
  const stackEnv = join(dataDir, 'stack.env');
  const envLines = {
    GATEWAY_URL: base,
    ADMIN_TOKEN: adminToken,
    FLAGS_FILE: flagsFile,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: config.queuePrefix,
    ...store,
    ...(config.registryFile ? { MODEL_REGISTRY_FILE: config.registryFile } : {}),
    CLIP_EMBEDDER_URL: clipAddr,
    SIGLIP_EMBEDDER_URL: siglipAddr,
    CLIP_EMBEDDING_DIM: String(clipInfo.embeddingDim),
    SIGLIP_EMBEDDING_DIM: String(siglipInfo.embeddingDim),
  };
  writeFileSync(
    stackEnv,
    `# Written by npm start (${new Date().toISOString()}): settings of the running stack for the tools.\n${Object.entries(
      envLines,
    )
      .map(([k, v]) => `${k}='${v}'`)
      .join('\n')}\n`,
    { mode: 0o600 },
  );

  let ingested;
  if (config.sampleDir) ingested = await ingestSamples(base, adminToken);

  const example = models.demo ? 'red' : 'sunset over mountains';
  const lines = [
    '',
    `image-search is up in ${((Date.now() - t0) / 1000).toFixed(1)} s${models.demo ? ' — with the DEMO models (colour words only; install real ones with tools:fetch-model)' : ''}`,
    `  Search page:  ${base}/`,
    `  API:          ${base}/api/v1/openapi.json`,
    `  Admin token:  ${adminToken}   (admin view, /api/v1/admin/*; kept in ${rel(tokenFile)})`,
    `  Flags file:   ${rel(flagsFile)}   (edit it to change the rollout live)`,
    `  Tools:        set -a; . ${rel(stackEnv)}; set +a   (then e.g. npx nx run tools:reembed -- status)`,
    ...(ingested
      ? [
          `  Sample set:   ${rel(config.sampleDir)} — ${ingested.done ?? 0} new, ${ingested.skipped ?? 0} unchanged, ${ingested.failed ?? 0} failed`,
        ]
      : []),
    `  Try:          curl -s -X POST ${base}/api/v1/search -H 'content-type: application/json' -d '{"query":"${example}","limit":5}'`,
    `  Services:     ${sup.services.map((s) => `${s.name} (pid ${s.pid})`).join(', ')}`,
    'Ctrl-C stops everything.',
  ];
  for (const l of lines) say(l);
}

main().catch((err) => {
  if (stopping) return;
  failure ??= `could not start: ${err.message}`;
  void shutdown(1);
});
