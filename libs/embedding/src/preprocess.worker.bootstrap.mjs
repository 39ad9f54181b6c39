// Entry of a decode worker process when running from sources (tsx, vitest): loads the TypeScript
// worker through tsx's loader. Builds bundle preprocess.worker.ts next to main.mjs instead.
const { register } = await import('tsx/esm/api');
register();
await import(new URL('./preprocess.worker.ts', import.meta.url).href);
