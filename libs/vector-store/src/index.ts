export type * from './vector-store.port.js';
