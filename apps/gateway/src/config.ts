import { isIP } from 'node:net';
import proxyAddr from 'proxy-addr';
import { z } from 'zod';
import { AppError, env, parseConfig } from '@image-search/service-kit';
import { DEFAULT_COLLECTION_NAMES, DEFAULT_VECTOR_SIZES } from '@image-search/collection-schema';
import { loadModelRegistry, type ModelRegistry } from '@image-search/model-registry';
import { FlagError, readFlags, DEFAULT_FLAGS } from '@image-search/rollout-router';

/** Gateway configuration schema (every variable is documented in the README). */
export const gatewayConfigSchema = z.object({
  GATEWAY_HOST: env.str('127.0.0.1'),
  GATEWAY_PORT: env.port(8000),
  LOG_LEVEL: env.logLevel(),
  SHUTDOWN_TIMEOUT_MS: env.int(10_000, 100, 600_000),
  CLIP_EMBEDDER_URL: env.str('127.0.0.1:50051'),
  /** Empty string disables SigLIP entirely (every request then falls back to CLIP). */
  SIGLIP_EMBEDDER_URL: env.str('127.0.0.1:50052'),
  EMBEDDER_DEADLINE_MS: env.int(10_000, 100, 600_000),
  // The rollout flags are validated by the rollout router (below) so its messages name the variable.
  USE_SIGLIP: env.optStr(),
  SIGLIP_ROLLOUT_PERCENTAGE: env.optStr(),
  SIGLIP_MIN_COVERAGE: env.optStr(),
  FLAGS_FILE: env.optStr(),
  FLAGS_POLL_MS: env.int(1000, 50, 600_000),
  COVERAGE_REFRESH_MS: env.int(5000, 100, 600_000),
  /**
   * gate: a user routed to the `to` model is served by the `from` model while its coverage is below the
   * minimum; blend: gets the `to` model's results over the assets it covers plus the `from` model's over
   * the rest, fused by reciprocal rank.
   */
  COVERAGE_MODE: z.enum(['gate', 'blend']).default('gate'),
  ADMIN_TOKEN: env.optStr(),
  AUTH_API_KEYS: env.bool(false),
  AUTH_PROXY_HEADER: env.optStr(),
  AUTH_TRUSTED_PROXIES: env.list([]),
  AUTH_PROXY_ADMINS: env.list([]),
  ALLOW_ANONYMOUS: env.bool(false),
  /** Lifetime of a browser session (the page's image cookie) made from an API key, in seconds. */
  AUTH_SESSION_TTL_S: env.int(43_200, 60, 30 * 86_400),
  ASSET_ROOTS: env.list([]),
  DATA_DIR: env.str('./data'),
  /** How soon reads of the embedded store see other processes' writes (ms); 0 checks on every read. */
  READ_CONSISTENCY_MS: env.int(500, 0, 1000),
  // The embedded engine's in-memory caches; LanceDB's own defaults (6 GiB / 1 GiB), settable for small machines.
  STORE_INDEX_CACHE_BYTES: env.int(6 * 2 ** 30, 0, 2 ** 42),
  STORE_METADATA_CACHE_BYTES: env.int(2 ** 30, 0, 2 ** 42),
  QDRANT_URL: env.optStr(),
  QDRANT_API_KEY: env.optStr(),
  /** PostgreSQL URL of the asset catalogue; unset keeps it in the embedded engine under DATA_DIR. */
  CATALOGUE_URL: env.optStr(),
  CLIP_COLLECTION: env.str(DEFAULT_COLLECTION_NAMES.clip),
  SIGLIP_COLLECTION: env.str(DEFAULT_COLLECTION_NAMES.siglip),
  CLIP_EMBEDDING_DIM: env.int(DEFAULT_VECTOR_SIZES.clip, 0, 65_536),
  SIGLIP_EMBEDDING_DIM: env.int(DEFAULT_VECTOR_SIZES.siglip, 0, 65_536),
  /** Registry file (YAML/JSON) declaring models beyond the seed's pair; see libs/model-registry. */
  MODEL_REGISTRY_FILE: env.optStr(),
  REDIS_URL: env.str('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: env.str('isearch'),
  INGEST_WORKER: env.bool(true),
  INGEST_CONCURRENCY: env.int(1, 1, 64),
  INGEST_BATCH_SIZE: env.int(32, 1, 1000),
  /** Watch ASSET_ROOTS and rescan what changed (one process per installation: the ingest worker role). */
  INGEST_WATCH: env.bool(false),
  INGEST_WATCH_DEBOUNCE_MS: env.int(1000, 50, 600_000),
  INGEST_WATCH_MAX_WAIT_MS: env.int(5000, 100, 3_600_000),
  THUMBNAIL_DIR: env.optStr(),
  THUMBNAIL_SIZE: env.int(256, 16, 2048),
  /** Previews re-embedding reads instead of the original (shared with the re-embed worker). */
  PREVIEW_DIR: env.optStr(),
  /** Short side of a preview in pixels; 0 makes none (re-embedding then decodes every original). */
  PREVIEW_SIZE: env.int(512, 0, 4096),
  // Thumbnails rendered on view (not made at ingest) and ingest previews decode in killable processes under this budget.
  MAX_DECODE_MS: env.int(10_000, 0, 600_000),
  QUERY_CACHE_SIZE: env.int(10_000, 0, 10_000_000),
  // The caches are bounded by bytes too, so a warmed-up gateway's heap has a ceiling whatever the model's width
  // or the answers' size (the entry bound alone let 5,000 answers of 50 hits hold ~130 MB).
  QUERY_CACHE_MAX_BYTES: env.int(64 * 2 ** 20, 0, 2 ** 40),
  QUERY_CACHE_TTL_MS: env.int(600_000, 0, 86_400_000),
  RESULT_CACHE_SIZE: env.int(5_000, 0, 1_000_000),
  RESULT_CACHE_MAX_BYTES: env.int(32 * 2 ** 20, 0, 2 ** 40),
  RESULT_CACHE_TTL_MS: env.int(30_000, 0, 3_600_000),
  RATE_LIMIT_SEARCH_PER_MIN: env.int(600, 0, 10_000_000),
  RATE_LIMIT_UPLOAD_PER_MIN: env.int(60, 0, 10_000_000),
  TRUST_PROXY: env.bool(false),
  JSON_BODY_LIMIT: env.str('64kb'),
  MAX_UPLOAD_BYTES: env.int(10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  // The upload pre-check's pixel limit: the embedders' default, so both refuse the same bombs with the same words.
  MAX_IMAGE_PIXELS: env.int(50_000_000, 1024, 2 ** 40),
  BREAKER_FAILURES: env.int(3, 1, 1000),
  BREAKER_COOLDOWN_MS: env.int(10_000, 100, 600_000),
  EVENTS_RETENTION_DAYS: env.int(30, 1, 3650),
  EVENTS_WINDOW_HOURS: env.int(24, 1, 24 * 30),
  RATE_LIMIT_EVENTS_PER_MIN: env.int(1200, 0, 10_000_000),
  INTERLEAVE_BUCKETS: z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      const m = /^(\d{1,2})-(\d{1,2})$/.exec(v);
      const [lo, hi] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
      if (!m || lo > hi || hi > 99) {
        ctx.addIssue({ code: 'custom', message: 'expected a bucket range LO-HI within 0-99, e.g. 40-49' });
        return z.NEVER;
      }
      return { lo, hi };
    }),
  RAMP_TICK_MS: env.int(5000, 50, 600_000),
  SHADOW_PERCENTAGE: env.int(0, 0, 100),
  SHADOW_MAX_CONCURRENCY: env.int(4, 1, 1000),
  SHADOW_MAX_PER_S: env.int(50, 1, 100_000),
  SHADOW_DEADLINE_MS: env.int(2000, 50, 60_000),
  SHADOW_IDLE_WAIT_MS: env.int(1000, 0, 60_000),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

const isLoopbackAddress = proxyAddr.compile('loopback');

/** Whether GATEWAY_HOST accepts connections from this machine only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().replace(/^\[(.*)\]$/, '$1');
  if (h.toLowerCase() === 'localhost') return true;
  return isIP(h) !== 0 && isLoopbackAddress(h, 0);
}

/** Whether any authentication is configured (API keys or a trusted proxy header). */
export function authConfigured(config: GatewayConfig): boolean {
  return config.AUTH_API_KEYS || config.AUTH_PROXY_HEADER !== undefined;
}

function configError(variables: string[], message: string): AppError {
  return new AppError('INVALID_CONFIG', `Invalid configuration:\n  ${message}`, { details: { variables } });
}

/** The checks across variables: a proxy header needs trusted proxies, and no auth means loopback only. */
function checkAuth(config: GatewayConfig): void {
  if (config.AUTH_PROXY_HEADER !== undefined && !/^[A-Za-z0-9-]{1,64}$/.test(config.AUTH_PROXY_HEADER))
    throw configError(
      ['AUTH_PROXY_HEADER'],
      `AUTH_PROXY_HEADER: must be an HTTP header name such as X-Forwarded-User or Remote-User (got ${JSON.stringify(config.AUTH_PROXY_HEADER)})`,
    );
  if (config.AUTH_PROXY_HEADER !== undefined && config.AUTH_TRUSTED_PROXIES.length === 0)
    throw configError(
      ['AUTH_TRUSTED_PROXIES'],
      'AUTH_TRUSTED_PROXIES: required with AUTH_PROXY_HEADER: the addresses or CIDRs (e.g. 10.0.0.0/8) the authenticating proxy connects from; the header is refused from anywhere else',
    );
  try {
    if (config.AUTH_TRUSTED_PROXIES.length > 0) proxyAddr.compile(config.AUTH_TRUSTED_PROXIES);
  } catch (err) {
    throw configError(
      ['AUTH_TRUSTED_PROXIES'],
      `AUTH_TRUSTED_PROXIES: ${(err as Error).message} (expected comma-separated IP addresses or CIDRs, or loopback / linklocal / uniquelocal)`,
    );
  }
  if (!authConfigured(config) && !config.ALLOW_ANONYMOUS && !isLoopbackHost(config.GATEWAY_HOST))
    throw configError(
      ['GATEWAY_HOST', 'AUTH_API_KEYS', 'AUTH_PROXY_HEADER', 'ALLOW_ANONYMOUS'],
      `GATEWAY_HOST: ${config.GATEWAY_HOST} is reachable from other machines, but no authentication is configured, so anyone reaching it could search and download every photo. ` +
        'Enable API keys (AUTH_API_KEYS=true, then npx nx run tools:api-key -- create --scope search --name <user>), ' +
        'or an authenticating proxy (AUTH_PROXY_HEADER=X-Forwarded-User and AUTH_TRUSTED_PROXIES=<its address>), ' +
        'or bind to 127.0.0.1, or set ALLOW_ANONYMOUS=true to serve everyone without credentials on purpose.',
    );
}

/** Parses the gateway's configuration from the environment, once; bad rollout flags are start-up errors naming the variable. */
export function loadGatewayConfig(source: Record<string, string | undefined> = process.env): GatewayConfig {
  const config = parseConfig(gatewayConfigSchema, source);
  gatewayRegistry(config);
  try {
    readFlags(rolloutEnv(config), DEFAULT_FLAGS, 'env');
  } catch (err) {
    if (err instanceof FlagError)
      throw new AppError('INVALID_CONFIG', `Invalid configuration:\n  ${err.message}`, {
        details: { variables: err.variable.split(', ') },
      });
    throw err;
  }
  checkAuth(config);
  return config;
}

/** The model registry from the seed variables and MODEL_REGISTRY_FILE (a bad file is a start-up error). */
export function gatewayRegistry(config: GatewayConfig): ModelRegistry {
  // The config's variables carry the registry's seed names, so the parsed config is its source as it is.
  return loadModelRegistry(config);
}

/** The rollout flags as the environment gave them (for FlagsSource). */
export function rolloutEnv(config: GatewayConfig): Record<string, string | undefined> {
  return {
    USE_SIGLIP: config.USE_SIGLIP,
    SIGLIP_ROLLOUT_PERCENTAGE: config.SIGLIP_ROLLOUT_PERCENTAGE,
    SIGLIP_MIN_COVERAGE: config.SIGLIP_MIN_COVERAGE,
  };
}
