// Entry of a thumbnail decode process when running from sources (tsx, vitest): loads the TypeScript
// worker through tsx's loader. Builds bundle thumbnail.worker.ts next to main.mjs instead.
const { register } = await import('tsx/esm/api');
register();
await import(new URL('./thumbnail.worker.ts', import.meta.url).href);
