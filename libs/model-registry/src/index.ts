/** A registered model, the default pair, and the seed variables that define it. */
export type { RegisteredModel, ModelPair, SeedModelSettings } from './model-registry.types.js';
/** The registry (models by id and collection, the rollout pair) and how it is built from the seed variables + file. */
export { ModelRegistry, loadModelRegistry, type RegistrySource } from './model-registry.js';
/** The registry file (MODEL_REGISTRY_FILE): YAML or JSON, `models:` and an optional `rollout: {from, to}`. */
export { parseRegistryFile, readRegistryFile, type RegistryFile, type RegistryFileModel } from './registry-file.js';
/** The seed's two models and how their ids are formed (ViT-B-32/openai is `clip-vit-b32-openai`). */
export { seedModels, seedModelId, SEED_MODEL_NAMES, SEED_EMBEDDER_URLS } from './seed-models.js';
/** The pair serving now: the recorded model state's (after a migration moved it on), else the registry's. */
export {
  servingPair,
  ServingPairSource,
  type ServingPair,
  type PairRecord,
  type PairStateReader,
} from './serving-pair.js';
