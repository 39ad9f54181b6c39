// `npm start` settings: the one place the start script reads the environment. Every variable has
// a default that works on a fresh clone; docs/runbook.md ("Run it on one machine") lists them.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

export const ROOT = resolve(new URL('../..', import.meta.url).pathname);

const DEFAULT_PORTS = {
  GATEWAY_PORT: 8000,
  CLIP_EMBEDDER_PORT: 50051,
  SIGLIP_EMBEDDER_PORT: 50052,
  CLIP_METRICS_PORT: 9464,
  SIGLIP_METRICS_PORT: 9465,
  WORKER_HEALTH_PORT: 9470,
};

class StartConfigError extends Error {}

function port(env, name) {
  const v = env[name];
  if (v === undefined || v === '') return DEFAULT_PORTS[name];
  if (!/^\d+$/.test(v) || Number(v) > 65535)
    throw new StartConfigError(`${name} must be a TCP port (0..65535; 0 picks a free one), got ${JSON.stringify(v)}`);
  return Number(v);
}

function bool(env, name, def) {
  const v = (env[name] ?? '').trim().toLowerCase();
  if (v === '') return def;
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new StartConfigError(`${name} must be true or false, got ${JSON.stringify(env[name])}`);
}

function oneOf(env, name, values, def) {
  const v = (env[name] ?? '').trim().toLowerCase();
  if (v === '') return def;
  if (!values.includes(v))
    throw new StartConfigError(`${name} must be one of ${values.join(', ')}, got ${JSON.stringify(env[name])}`);
  return v;
}

function int(env, name, def, min) {
  const v = (env[name] ?? '').trim();
  if (v === '') return def;
  if (!/^\d+$/.test(v) || Number(v) < min)
    throw new StartConfigError(`${name} must be a whole number of at least ${min}, got ${JSON.stringify(env[name])}`);
  return Number(v);
}

const abs = (p) => resolve(ROOT, p);

/**
 * Parses the start settings. Paths are resolved against the repository root (so `npm start`
 * behaves the same from any folder). Throws with a message naming the bad variable.
 */
export function readStartConfig(env = process.env) {
  const ports = Object.fromEntries(Object.keys(DEFAULT_PORTS).map((k) => [k, port(env, k)]));
  const sample = (env.SAMPLE_DIR ?? '').trim();
  const timeout = env.START_TIMEOUT_S;
  if (timeout !== undefined && timeout !== '' && !/^\d+$/.test(timeout))
    throw new StartConfigError(`START_TIMEOUT_S must be a number of seconds, got ${JSON.stringify(timeout)}`);
  return {
    host: (env.GATEWAY_HOST || '127.0.0.1').trim(),
    ports,
    /** auto: real models when MODELS_DIR has both, else the demo models. */
    models: oneOf(env, 'MODELS', ['auto', 'real', 'demo'], 'auto'),
    fetchModels: bool(env, 'FETCH_MODELS', false),
    modelsDir: abs(env.MODELS_DIR || 'models'),
    demoModelsDir: abs(env.DEMO_MODELS_DIR || 'data/demo-models'),
    clipModel: {
      name: env.CLIP_MODEL_NAME || 'ViT-B-32',
      pretrained: env.CLIP_PRETRAINED || 'openai',
      dir: env.CLIP_MODEL_DIR ? abs(env.CLIP_MODEL_DIR) : undefined,
    },
    siglipModel: {
      name: env.SIGLIP_MODEL_NAME || 'ViT-B-16-SigLIP',
      pretrained: env.SIGLIP_PRETRAINED || 'webli',
      dir: env.SIGLIP_MODEL_DIR ? abs(env.SIGLIP_MODEL_DIR) : undefined,
    },
    hfEndpoint: env.HF_ENDPOINT || 'https://huggingface.co',
    /** Chosen later: data/local for real models, data/demo for the demo models (their vectors differ in size). */
    dataDir: env.DATA_DIR ? abs(env.DATA_DIR) : undefined,
    sampleDir: sample === 'none' ? undefined : abs(sample || 'data/sample-images'),
    generateSamples: sample === '',
    extraAssetRoots: (env.ASSET_ROOTS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map(abs),
    adminToken: env.ADMIN_TOKEN || undefined,
    flagsFile: env.FLAGS_FILE ? abs(env.FLAGS_FILE) : undefined,
    /** Models beyond the seed's pair; npm start serves those with a model_dir itself. */
    registryFile: env.MODEL_REGISTRY_FILE ? abs(env.MODEL_REGISTRY_FILE) : undefined,
    createSiglipCollection: bool(env, 'CREATE_SIGLIP_COLLECTION', true),
    redisUrl: env.REDIS_URL || undefined,
    queuePrefix: env.QUEUE_PREFIX || 'isearch',
    qdrantUrl: env.QDRANT_URL || undefined,
    logFormat: oneOf(env, 'LOG_FORMAT', ['pretty', 'json'], 'pretty'),
    logLevel: env.LOG_LEVEL || 'info',
    startTimeoutS: timeout ? Number(timeout) : undefined,
    /** Once the stack is up, crashed services are restarted (false: a crash stops the stack, as before). */
    restarts: bool(env, 'START_RESTARTS', true),
    restartPolicy: {
      baseMs: int(env, 'START_RESTART_BACKOFF_MS', 1000, 1),
      maxMs: int(env, 'START_RESTART_BACKOFF_MAX_MS', 30_000, 1),
      maxCrashes: int(env, 'START_CRASH_LOOP_COUNT', 5, 1),
      windowMs: int(env, 'START_CRASH_LOOP_WINDOW_S', 60, 1) * 1000,
    },
    /** Marks every process of this stack (tests look for leftovers by it). */
    stackId: env.START_STACK_ID || randomBytes(6).toString('hex'),
    color: env.NO_COLOR ? false : env.FORCE_COLOR ? env.FORCE_COLOR !== '0' : Boolean(process.stdout.isTTY),
  };
}

export { StartConfigError };

/** A random admin token for the local stack (kept in DATA_DIR so restarts reuse it). */
export function newAdminToken() {
  return randomBytes(18).toString('base64url');
}
