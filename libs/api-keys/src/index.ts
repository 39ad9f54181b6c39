/** API key format, scopes and the digest that is stored instead of the key. */
export {
  API_KEY_SCOPES,
  KEY_NAME,
  apiKeyId,
  digestApiKey,
  generateApiKey,
  looksLikeApiKey,
  scopeAllows,
  type ApiKeyScope,
} from './api-key.js';
/** API keys in Redis (shared by every gateway replica and the tools:api-key target). */
export { ApiKeyStore, type ApiKeyLookup, type ApiKeyRecord } from './api-key.store.js';
