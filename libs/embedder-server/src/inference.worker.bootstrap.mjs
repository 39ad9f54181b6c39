// Entry of the inference worker thread. A bundled build ships inference.worker.mjs next to this
// file; from sources (tsx, vitest) the TypeScript worker is loaded through tsx's loader.
import { existsSync } from 'node:fs';

const bundled = new URL('./inference.worker.mjs', import.meta.url);
if (existsSync(bundled)) {
  await import(bundled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('./inference.worker.ts', import.meta.url).href);
}
