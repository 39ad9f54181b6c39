export type * from './embedder-client.types.js';
