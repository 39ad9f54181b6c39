import { AppError } from '@image-search/service-kit';
import type { ModelPair, RegisteredModel, SeedModelSettings } from './model-registry.types.js';
import { readRegistryFile, type RegistryFile } from './registry-file.js';
import { seedModels } from './seed-models.js';

/**
 * The models an installation knows, by id. The seed variables define two entries (CLIP and SigLIP,
 * the default pair); a registry file adds more, may override a seed entry by its id, and may name
 * another pair for the rollout and the migration tools.
 */
export class ModelRegistry {
  private readonly byId: Map<string, RegisteredModel>;
  /** The pair the rollout flags and `tools:reembed` default to. */
  readonly pair: ModelPair;

  constructor(models: RegisteredModel[], pair: { from: string; to: string }) {
    this.byId = new Map();
    const collections = new Map<string, string>();
    for (const m of models) {
      const taken = collections.get(m.collection);
      if (taken !== undefined && taken !== m.id)
        throw new AppError(
          'INVALID_CONFIG',
          `models '${taken}' and '${m.id}' both name collection '${m.collection}'; each model needs its own collection`,
        );
      collections.set(m.collection, m.id);
      this.byId.set(m.id, m);
    }
    if (pair.from === pair.to)
      throw new AppError('INVALID_CONFIG', `the rollout pair names '${pair.from}' twice; from and to must differ`);
    this.pair = { from: this.require(pair.from, 'rollout.from'), to: this.require(pair.to, 'rollout.to') };
  }

  /** Every registered model, seed models first, in declaration order. */
  list(): RegisteredModel[] {
    return [...this.byId.values()];
  }

  /** The model with this id, or undefined. */
  get(id: string): RegisteredModel | undefined {
    return this.byId.get(id);
  }

  /** The model with this id; NOT_FOUND naming the known ids otherwise (`what` says where the id came from). */
  require(id: string, what = 'model'): RegisteredModel {
    const m = this.byId.get(id);
    if (!m)
      throw new AppError(
        'NOT_FOUND',
        `${what}: no registered model '${id}' (known: ${[...this.byId.keys()].join(', ')})`,
        {
          details: { model: id, known: [...this.byId.keys()] },
        },
      );
    return m;
  }

  /** The model whose vectors live in this collection, or undefined. */
  byCollection(collection: string): RegisteredModel | undefined {
    return this.list().find((m) => m.collection === collection);
  }

  /** Every registered model's collection (the "live collections" writers and deletes go to). */
  collections(): string[] {
    return this.list().map((m) => m.collection);
  }
}

/** What builds a registry: the parsed seed variables and, optionally, a registry file (path or parsed). */
export interface RegistrySource extends SeedModelSettings {
  MODEL_REGISTRY_FILE?: string | undefined;
  /** A parsed registry file (tests); takes the place of MODEL_REGISTRY_FILE. */
  file?: RegistryFile | undefined;
}

/** Builds the registry from the seed variables plus the registry file, if any. */
export function loadModelRegistry(source: RegistrySource = {}): ModelRegistry {
  const seed = seedModels(source);
  const file = source.file ?? (source.MODEL_REGISTRY_FILE ? readRegistryFile(source.MODEL_REGISTRY_FILE) : undefined);
  const models = new Map<string, RegisteredModel>([
    [seed.clip.id, seed.clip],
    [seed.siglip.id, seed.siglip],
  ]);
  const seen = new Set<string>();
  for (const m of file?.models ?? []) {
    if (seen.has(m.id)) throw new AppError('INVALID_CONFIG', `MODEL_REGISTRY_FILE: model '${m.id}' is declared twice`);
    seen.add(m.id);
    const base = models.get(m.id);
    const { family, ...rest } = m;
    models.set(m.id, {
      ...base,
      ...rest,
      // SigLIP 2 is a SigLIP to every layer but the model folder (collections, embedders, payloads).
      family: family === 'siglip2' ? 'siglip' : family,
      ...(family === 'siglip2' ? { architecture: 'siglip2' as const } : {}),
      embedder: m.embedder ?? base?.embedder,
      name: m.name ?? base?.name,
      pretrained: m.pretrained ?? base?.pretrained,
      origin: 'file',
    });
  }
  return new ModelRegistry([...models.values()], file?.rollout ?? { from: seed.clip.id, to: seed.siglip.id });
}
