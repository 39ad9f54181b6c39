import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { AppError, HealthState, startHealthServer, type Logger } from '@image-search/service-kit';
import { EMBEDDER_SERVICE_NAME, loadEmbedderProto } from '@image-search/embedder-proto';
import { modelFingerprint, readModelFolder, type EmbeddingModel } from '@image-search/embedding';
import { defaultMaxBatch, type EmbedderSettings } from './embedder.config.js';
import { EmbedderMetrics } from './embedder.metrics.js';
import { EmbedderService } from './embedder.service.js';
import type { TowerEvent, TowerStatus } from './tower-slot.js';
import type { WorkerModelOptions } from './worker-model.js';

/** What an EmbedderServer needs; `loadModel` is the embedding lib's loader (injected so tests can gate warm-up). */
export interface EmbedderServerOptions {
  settings: EmbedderSettings;
  logger: Logger;
  loadModel: (opts: WorkerModelOptions) => Promise<EmbeddingModel>;
  /** Called when the model can no longer serve (its inference worker died); the app should exit non-zero so it is restarted. */
  onFatal?: (err: Error) => void;
  /** Adds Node process metrics (CPU, RSS, event loop) to /metrics; off in tests that run several servers. */
  processMetrics?: boolean;
}

/** A model that reports its towers' states (WorkerEmbeddingModel; a wrapper may pass it through). */
type WithTowers = EmbeddingModel & { towers(): TowerStatus[] };
const hasTowers = (m: EmbeddingModel): m is WithTowers => typeof (m as Partial<WithTowers>).towers === 'function';

/**
 * One embedder: gRPC (Embedder + grpc.health.v1) and an HTTP metrics/health port. Health says
 * NOT_SERVING until the model is loaded and warmed up, and again from the start of shutdown.
 * A tower unloaded after MODEL_IDLE_UNLOAD_S leaves health SERVING: it loads again on the next call,
 * so the replica can still answer (later, by the load time); NOT_SERVING would take it out of the
 * Service's endpoints, and then no call would ever come to load it. Info and the metrics say the state.
 */
export class EmbedderServer {
  readonly health = new HealthState();
  readonly metrics: EmbedderMetrics;
  private readonly grpcHealth = new HealthImplementation({ '': 'NOT_SERVING', [EMBEDDER_SERVICE_NAME]: 'NOT_SERVING' });
  private readonly service: EmbedderService;
  private readonly server: grpc.Server;
  private metricsServer: { port: number; close: () => Promise<void> } | undefined;
  private model: EmbeddingModel | undefined;
  private stopping: Promise<void> | undefined;
  /** The bound gRPC port (after listen). */
  port = 0;
  /** The bound metrics port (after listen). */
  metricsPort = 0;

  constructor(private readonly opts: EmbedderServerOptions) {
    const s = opts.settings;
    this.metrics = new EmbedderMetrics(
      { family: s.family },
      { processMetrics: opts.processMetrics, maxBatch: s.maxBatchSize || defaultMaxBatch('cuda') },
    );
    this.service = new EmbedderService(s, this.metrics, opts.logger);
    this.health.onChange((ready) => {
      const status = ready ? 'SERVING' : 'NOT_SERVING';
      this.grpcHealth.setStatus('', status);
      this.grpcHealth.setStatus(EMBEDDER_SERVICE_NAME, status);
    });
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': s.maxMessageBytes,
      // Long-lived HTTP/2 connections would pin a client to one pod forever; closing them after
      // an age makes clients reconnect and the load balancer spread them over new replicas.
      'grpc.max_connection_age_ms': s.maxConnectionAgeMs,
      'grpc.max_connection_age_grace_ms': s.maxConnectionAgeGraceMs,
      'grpc.keepalive_time_ms': s.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': 20_000,
    });
    this.server.addService(loadEmbedderProto().imagesearch.embedder.v1.Embedder.service, this.service.handlers());
    this.grpcHealth.addToServer(this.server);
  }

  /** Binds the gRPC and metrics ports (health NOT_SERVING until `loadModel` finishes). */
  async listen(): Promise<void> {
    const s = this.opts.settings;
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`${s.host}:${s.port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
        err
          ? reject(
              new AppError(
                'UNAVAILABLE',
                `cannot listen on ${s.host}:${s.port} (EMBEDDER_HOST/EMBEDDER_PORT): ${err.message}`,
                { cause: err },
              ),
            )
          : resolve(p),
      ),
    );
    this.metricsServer = await startHealthServer({
      host: s.host,
      port: s.metricsPort,
      health: this.health,
      registry: this.metrics.registry,
    });
    this.metricsPort = this.metricsServer.port;
    this.opts.logger.info(
      { grpc_port: this.port, metrics_port: this.metricsPort },
      'embedder listening; loading the model',
    );
  }

  /** Loads the model, checks it against the configuration, warms it up, then reports SERVING. */
  async loadModel(): Promise<void> {
    const s = this.opts.settings;
    const started = Date.now();
    // Hashing the weights reads them once more; it runs beside the sessions' start.
    const fingerprint = modelFingerprint(readModelFolder(s.modelDir, { family: s.family, variant: s.variant }));
    fingerprint.catch(() => undefined);
    const model = await this.opts.loadModel({
      modelDir: s.modelDir,
      family: s.family,
      modelId: s.modelId,
      variant: s.variant,
      device: s.device,
      intraOpThreads: s.intraOpThreads,
      cpuRunRows: s.cpuRunRows,
      limits: { maxBytes: s.maxImageBytes, maxPixels: s.maxImagePixels },
      decode:
        s.maxDecodeMs > 0
          ? {
              timeoutMs: s.maxDecodeMs,
              workers: s.decodeWorkers,
              onReplace: (why, detail) => {
                this.metrics.decodeWorkersReplaced.inc({ why });
                this.opts.logger.warn({ why }, `${detail}; decode worker replaced`);
              },
            }
          : undefined,
      logger: this.opts.logger,
      idleUnloadMs: s.idleUnloadS * 1000,
      onTowerEvent: (e) => this.onTowerEvent(e),
      onCrash: (err) => {
        this.health.setReady(false);
        this.opts.logger.fatal({ err }, 'the model can no longer serve; NOT_SERVING');
        this.opts.onFatal?.(err);
      },
    });
    this.model = model;
    const i = model.info;
    if (i.family !== s.family) {
      throw new AppError(
        'INVALID_CONFIG',
        `the model at ${s.modelDir} is a ${i.family} model, but this is the ${s.family} embedder; point MODEL_DIR (or MODELS_DIR and ${s.dimVariable.replace('EMBEDDING_DIM', 'MODEL_NAME')}) at a ${s.family} model`,
      );
    }
    if (s.expectedDim !== 0 && i.dim !== s.expectedDim) {
      throw new AppError(
        'INVALID_CONFIG',
        `${s.dimVariable} is ${s.expectedDim}, but the model at ${s.modelDir} produces ${i.dim}-dimensional embeddings; set ${s.dimVariable}=${i.dim} if this model is intended (the collections must match it), or point MODEL_DIR at the right model`,
        { details: { expected: s.expectedDim, actual: i.dim } },
      );
    }
    await model.warmUp();
    const towers = hasTowers(model) ? () => model.towers() : undefined;
    if (towers) this.metrics.trackTowers(towers);
    this.service.attach(model, await fingerprint, towers);
    if (this.stopping) return;
    this.health.setReady(true);
    this.opts.logger.info(
      {
        model_id: i.modelId,
        fingerprint: await fingerprint,
        dim: i.dim,
        provider: i.executionProvider,
        variant: i.variant,
        layout: i.layout,
        max_batch: this.service.maxBatchSize,
        took_ms: Date.now() - started,
      },
      'model loaded and warmed up; SERVING',
    );
  }

  private onTowerEvent(e: TowerEvent): void {
    this.metrics.onTowerEvent(e);
    const log = this.opts.logger;
    const took = e.tookMs === undefined ? {} : { took_ms: Math.round(e.tookMs) };
    if (e.event === 'unloaded')
      log.info(
        { tower: e.tower, idle_s: this.opts.settings.idleUnloadS },
        'tower idle; unloaded (MODEL_IDLE_UNLOAD_S)',
      );
    else if (e.event === 'loading') log.info({ tower: e.tower }, 'tower needed; loading it again');
    else if (e.event === 'reloaded') log.info({ tower: e.tower, ...took }, 'tower loaded again');
    else
      log.error(
        { tower: e.tower, ...took, err: e.error?.message },
        'tower could not be loaded again; the next call retries',
      );
  }

  /** listen() then loadModel(). */
  async start(): Promise<void> {
    await this.listen();
    await this.loadModel();
  }

  /**
   * Graceful stop: NOT_SERVING, refuse new calls (UNAVAILABLE, so clients retry elsewhere),
   * finish queued and running batches, close the ports, release the model.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const log = this.opts.logger;
    this.health.setReady(false);
    this.service.startDraining();
    await this.service.drained();
    log.info('in-flight batches drained');
    await new Promise<void>((resolve) => {
      // Answers already computed are flushed by tryShutdown; a client that never reads them must not hold us up.
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 5000);
      force.unref();
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    await this.metricsServer?.close();
    await this.model?.close();
  }
}
