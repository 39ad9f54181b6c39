export * from './model.types.js';
export { DEFAULT_MODELS, modelFolderName, resolveHubModel, resolveModelDir, type HubModelRef } from './model-registry.js';
