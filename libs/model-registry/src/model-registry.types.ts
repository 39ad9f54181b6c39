import type { ModelFamily } from '@image-search/collection-schema';

/** One embedding model the installation knows: where it is served and which collection holds its vectors. */
export interface RegisteredModel {
  /** Stable id used in payloads, metrics, the API and tools (e.g. `clip-vit-b32-openai`). */
  id: string;
  /** Architecture family: decides tokenization and preprocessing in the embedder. */
  family: ModelFamily;
  /**
   * The architecture within the family, when it is not the family's first: `siglip2` (declared as
   * `family: siglip2` in the registry file) is served by a SigLIP embedder from a SigLIP 2 model folder.
   */
  architecture?: 'siglip2' | undefined;
  /** Embedding dimension (the collection's vector size). */
  dim: number;
  /** The vector collection holding this model's vectors. */
  collection: string;
  /** gRPC address (host:port) of the embedder serving it; undefined when not configured. */
  embedder: string | undefined;
  /** open_clip name and pretrained tag (the model folder `NAME__PRETRAINED`), when known. */
  name?: string | undefined;
  pretrained?: string | undefined;
  /**
   * The fingerprint every vector of the collection must carry, when pinned in the registry file.
   * Unpinned, the collection's own vectors say which fingerprint it holds.
   */
  fingerprint?: string | undefined;
  /** Where the entry came from: the seed variables (CLIP_*, SIGLIP_*) or the registry file. */
  origin: 'seed' | 'file';
}

/** The two models a migration and the rollout router work between. */
export interface ModelPair {
  /** The model serving today (the seed's CLIP). */
  from: RegisteredModel;
  /** The model being migrated to and rolled out (the seed's SigLIP). */
  to: RegisteredModel;
}

/** The seed variables that define the default pair (already parsed by an app's config module). */
export interface SeedModelSettings {
  CLIP_COLLECTION?: string | undefined;
  SIGLIP_COLLECTION?: string | undefined;
  CLIP_EMBEDDER_URL?: string | undefined;
  SIGLIP_EMBEDDER_URL?: string | undefined;
  CLIP_EMBEDDING_DIM?: number | undefined;
  SIGLIP_EMBEDDING_DIM?: number | undefined;
  CLIP_MODEL_NAME?: string | undefined;
  CLIP_PRETRAINED?: string | undefined;
  SIGLIP_MODEL_NAME?: string | undefined;
  SIGLIP_PRETRAINED?: string | undefined;
}
