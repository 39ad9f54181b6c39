import { AppError } from '@image-search/service-kit';
import type { ModelRegistry } from './model-registry.js';
import type { RegisteredModel } from './model-registry.types.js';

/** The pair that serves now: `to` undefined between migrations (the `from` model serves everyone). */
export interface ServingPair {
  from: RegisteredModel;
  to: RegisteredModel | undefined;
  /** `registry`: the seed's or MODEL_REGISTRY_FILE's pair (nothing recorded yet); `state`: the recorded model state. */
  source: 'registry' | 'state';
  /** Models retired after a verified migration (their collections are not served). */
  retired: string[];
}

/** The recorded model state as far as the pair is concerned (structurally @image-search/asset-catalogue's). */
export interface PairRecord {
  pair: { from: string; to: string | null };
  retired?: { model_id: string }[];
}

/** Where the recorded state is read from (structurally the asset catalogue). */
export interface PairStateReader {
  readModelState(): Promise<PairRecord | undefined>;
}

/** The serving pair: the recorded state's when there is one (its models must be registered), else the registry's. */
export function servingPair(registry: ModelRegistry, record: PairRecord | undefined): ServingPair {
  if (!record) return { from: registry.pair.from, to: registry.pair.to, source: 'registry', retired: [] };
  const known = (id: string, what: string) => {
    const m = registry.get(id);
    if (!m)
      throw new AppError(
        'INVALID_CONFIG',
        `the recorded model state names ${what} '${id}', which is not registered (known: ${registry
          .list()
          .map((x) => x.id)
          .join(', ')}); declare it again in MODEL_REGISTRY_FILE`,
      );
    return m;
  };
  return {
    from: known(record.pair.from, 'the serving model'),
    to: record.pair.to === null ? undefined : known(record.pair.to, 'the model rolled out'),
    source: 'state',
    retired: (record.retired ?? []).map((r) => r.model_id),
  };
}

/**
 * The serving pair as every process of the installation agrees on it: read from the recorded model
 * state (the catalogue's database or folder) at start and every `intervalMs`, so a retirement or a new
 * migration reaches every gateway within one interval. A failed read keeps the last pair.
 */
export class ServingPairSource {
  private current: ServingPair;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: ModelRegistry,
    private readonly reader: PairStateReader | undefined,
    private readonly opts: { intervalMs?: number; onError?: (err: Error) => void } = {},
  ) {
    this.current = servingPair(registry, undefined);
  }

  /** The pair in effect (no I/O). */
  get pair(): ServingPair {
    return this.current;
  }

  /** Reads the recorded state now. */
  async refresh(): Promise<ServingPair> {
    if (!this.reader) return this.current;
    try {
      this.current = servingPair(this.registry, await this.reader.readModelState());
    } catch (err) {
      this.opts.onError?.(err as Error);
    }
    return this.current;
  }

  /** Reads once now (a bad record is a start-up error), then every `intervalMs`. */
  async start(): Promise<void> {
    if (!this.reader) return;
    this.current = servingPair(this.registry, await this.reader.readModelState());
    this.timer = setInterval(() => void this.refresh(), this.opts.intervalMs ?? 5000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
