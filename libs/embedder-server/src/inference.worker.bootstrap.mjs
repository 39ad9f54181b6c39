// Entry of the inference worker thread when running from sources (tsx, vitest): loads the
// TypeScript worker through tsx's loader. Builds bundle inference.worker.ts instead (see the
// embedder apps' build target) and never load this file.
const { register } = await import('tsx/esm/api');
register();
await import(new URL('./inference.worker.ts', import.meta.url).href);
