export * from './collection-schema.js';
