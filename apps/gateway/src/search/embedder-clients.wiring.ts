import { EmbedderClient, type EmbedderApi } from '@image-search/embedder-client';
import type { ModelRegistry } from '@image-search/model-registry';
import type { GatewayConfig } from '../config.js';
import { TextBatcher } from './text-batcher.js';

/** Embedders a test passes instead of gRPC clients. */
export interface InjectedEmbedders {
  clip: EmbedderApi;
  siglip: EmbedderApi | undefined;
  byId?: Record<string, EmbedderApi>;
}

/** The gateway's embedder clients: the seed's two, and one per registered model by id. */
export interface EmbedderClients {
  clip: EmbedderApi;
  siglip: EmbedderApi | undefined;
  /** Every servable model's embedder, by registry id. */
  byModel: Map<string, EmbedderApi>;
  close: () => void;
}

/** Builds the embedder clients; search queries share EmbedTexts calls under load (TextBatcher), image calls go straight through. */
export function wireEmbedderClients(
  config: GatewayConfig,
  registry: ModelRegistry,
  injected?: InjectedEmbedders,
): EmbedderClients {
  const client = (address: string) =>
    new TextBatcher(new EmbedderClient({ address, defaultDeadlineMs: config.EMBEDDER_DEADLINE_MS }));
  const clip = injected?.clip ?? client(config.CLIP_EMBEDDER_URL);
  const siglip = injected
    ? injected.siglip
    : config.SIGLIP_EMBEDDER_URL
      ? client(config.SIGLIP_EMBEDDER_URL)
      : undefined;
  // The seed's two clients serve the seed entries; every other model with an address gets its own.
  const seedIds = {
    clip: registry.byCollection(config.CLIP_COLLECTION)?.id,
    siglip: registry.byCollection(config.SIGLIP_COLLECTION)?.id,
  };
  const byModel = new Map<string, EmbedderApi>();
  const own: EmbedderApi[] = [];
  for (const m of registry.list()) {
    if (m.id === seedIds.clip) byModel.set(m.id, clip);
    else if (m.id === seedIds.siglip) {
      if (siglip) byModel.set(m.id, siglip);
    } else if (injected?.byId?.[m.id]) byModel.set(m.id, injected.byId[m.id]);
    else if (m.embedder) {
      const c = client(m.embedder);
      own.push(c);
      byModel.set(m.id, c);
    }
  }
  return {
    clip,
    siglip,
    byModel,
    close: () => {
      clip.close();
      siglip?.close();
      for (const c of own) c.close();
    },
  };
}
