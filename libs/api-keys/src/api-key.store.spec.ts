// ApiKeyStore against REAL Redis (own key prefix, removed afterwards).
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeys, testRedis, uniqueName } from '@image-search/testing';
import { isAppError } from '@image-search/service-kit';
import { ApiKeyStore, apiKeyId, digestApiKey, generateApiKey, looksLikeApiKey, scopeAllows } from './index.js';

const redis = testRedis();
const prefix = uniqueName('api-keys');
const store = new ApiKeyStore(redis, prefix);

afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe('API key format', () => {
  it('generates distinct, well-formed keys whose id is readable from the key', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a.key).not.toBe(b.key);
    expect(a.key).toMatch(/^isk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(apiKeyId(a.key)).toBe(a.id);
    expect(looksLikeApiKey(a.key)).toBe(true);
    expect(looksLikeApiKey('some-admin-token')).toBe(false);
    expect(apiKeyId('isk_short')).toBeUndefined();
  });

  it('admin includes search, search does not include admin', () => {
    expect(scopeAllows('admin', 'search')).toBe(true);
    expect(scopeAllows('admin', 'admin')).toBe(true);
    expect(scopeAllows('search', 'search')).toBe(true);
    expect(scopeAllows('search', 'admin')).toBe(false);
  });
});

describe('ApiKeyStore (real Redis)', () => {
  it('stores only the digest: the key appears nowhere in Redis', async () => {
    const { key, record } = await store.create('alice', 'search');
    expect(record).toMatchObject({ name: 'alice', scope: 'search', revoked_at: null });
    const dump = JSON.stringify([
      await redis.hgetall(`${prefix}:api-keys`),
      await redis.hgetall(`${prefix}:api-key-ids`),
    ]);
    expect(dump).not.toContain(key);
    expect(dump).not.toContain(key.slice(17));
    expect(dump).toContain(digestApiKey(key));
    expect(await store.lookup(key)).toEqual({ ok: true, record });
  });

  it('refuses unknown and revoked keys, and revocation is seen by another store instance at once', async () => {
    const { key, record } = await store.create('bob', 'admin');
    const other = new ApiKeyStore(redis, prefix);
    expect((await other.lookup(key)).ok).toBe(true);
    expect(await store.lookup(generateApiKey().key)).toEqual({ ok: false, reason: 'unknown' });
    const revoked = await store.revoke(record.id);
    expect(revoked.revoked_at).not.toBeNull();
    expect(await other.lookup(key)).toEqual({ ok: false, reason: 'revoked' });
    // Revoking again keeps the first revocation time.
    expect((await store.revoke(record.id)).revoked_at).toBe(revoked.revoked_at);
  });

  it('lists keys oldest first with revoked ones marked, and revokes every key of a name', async () => {
    const p = uniqueName('api-keys-list');
    const s = new ApiKeyStore(redis, p);
    const a = await s.create('carol', 'search', new Date('2026-01-01T00:00:00Z'));
    const b = await s.create('carol', 'search', new Date('2026-01-02T00:00:00Z'));
    const c = await s.create('dave', 'admin', new Date('2026-01-03T00:00:00Z'));
    expect((await s.list()).map((r) => r.id)).toEqual([a.record.id, b.record.id, c.record.id]);
    const gone = await s.revokeName('carol');
    expect(gone.map((r) => r.id).sort()).toEqual([a.record.id, b.record.id].sort());
    expect((await s.list()).map((r) => r.revoked_at !== null)).toEqual([true, true, false]);
    expect(await s.revokeName('nobody')).toEqual([]);
    await deleteKeys(redis, p);
  });

  it('refuses bad names and scopes, and an unknown id, with errors naming the field', async () => {
    await expect(store.create('has space', 'search')).rejects.toThrow(/name: must be/);
    await expect(store.create('x', 'root' as never)).rejects.toThrow(/scope: must be one of search, admin/);
    const err = await store.revoke('000000000000').catch((e: unknown) => e);
    expect(isAppError(err, 'NOT_FOUND')).toBe(true);
  });
});
