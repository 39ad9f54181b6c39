import type { Redis } from 'ioredis';
import { AppError } from '@image-search/service-kit';
import { API_KEY_SCOPES, KEY_NAME, digestApiKey, generateApiKey, type ApiKeyScope } from './api-key.js';

/** A stored key as listings show it (never the key itself, which is shown once at creation). */
export interface ApiKeyRecord {
  id: string;
  name: string;
  scope: ApiKeyScope;
  created_at: string;
  /** Set when revoked; the record stays so listings show who had access and until when. */
  revoked_at: string | null;
}

/** The answer of a lookup: the key's record, or why it is not accepted. */
export type ApiKeyLookup = { ok: true; record: ApiKeyRecord } | { ok: false; reason: 'unknown' | 'revoked' };

/**
 * API keys in Redis under the QUEUE_PREFIX namespace, so every gateway replica sees a new or
 * revoked key at once (no cache: a revocation is effective on the next request). Two hashes:
 * `<prefix>:api-keys` maps the key's sha256 to its record (one HGET per request), and
 * `<prefix>:api-key-ids` maps the short id to that digest (for revocation by id).
 */
export class ApiKeyStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private get records(): string {
    return `${this.prefix}:api-keys`;
  }
  private get ids(): string {
    return `${this.prefix}:api-key-ids`;
  }

  /** Creates a key for `name` with `scope`; the returned key is the only time it exists in clear. */
  async create(name: string, scope: ApiKeyScope, now = new Date()): Promise<{ key: string; record: ApiKeyRecord }> {
    if (!KEY_NAME.test(name))
      throw new AppError(
        'INVALID_ARGUMENT',
        `name: must be 1 to 128 letters, digits or . _ @ + - (got ${JSON.stringify(name)})`,
        { details: { field: 'name' } },
      );
    if (!(API_KEY_SCOPES as readonly string[]).includes(scope))
      throw new AppError('INVALID_ARGUMENT', `scope: must be one of ${API_KEY_SCOPES.join(', ')}`, {
        details: { field: 'scope' },
      });
    const { key, id } = generateApiKey();
    const digest = digestApiKey(key);
    const record: ApiKeyRecord = { id, name, scope, created_at: now.toISOString(), revoked_at: null };
    // HSETNX on the id: a collision of two random 48-bit ids is astronomically rare, but must not overwrite.
    if ((await this.redis.hsetnx(this.ids, id, digest)) !== 1) return this.create(name, scope, now);
    await this.redis.hset(this.records, digest, JSON.stringify(record));
    return { key, record };
  }

  /** Looks a presented key up by its digest. */
  async lookup(key: string): Promise<ApiKeyLookup> {
    const raw = await this.redis.hget(this.records, digestApiKey(key));
    if (!raw) return { ok: false, reason: 'unknown' };
    const record = JSON.parse(raw) as ApiKeyRecord;
    return record.revoked_at ? { ok: false, reason: 'revoked' } : { ok: true, record };
  }

  /** Whether the key with this id exists and is not revoked (sessions made from a key end with it). */
  async isActive(id: string): Promise<boolean> {
    const digest = await this.redis.hget(this.ids, id);
    const raw = digest ? await this.redis.hget(this.records, digest) : null;
    return raw !== null && !(JSON.parse(raw) as ApiKeyRecord).revoked_at;
  }

  /** Every key, oldest first (revoked ones included, marked). */
  async list(): Promise<ApiKeyRecord[]> {
    const all = await this.redis.hvals(this.records);
    return all
      .map((s) => JSON.parse(s) as ApiKeyRecord)
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
  }

  /** Revokes one key by id; NOT_FOUND when there is none. Revoking a revoked key changes nothing. */
  async revoke(id: string, now = new Date()): Promise<ApiKeyRecord> {
    const digest = await this.redis.hget(this.ids, id);
    const raw = digest ? await this.redis.hget(this.records, digest) : null;
    if (!digest || !raw)
      throw new AppError('NOT_FOUND', `no API key with id ${JSON.stringify(id)} (see the list command)`, {
        details: { field: 'id' },
      });
    const record = JSON.parse(raw) as ApiKeyRecord;
    if (record.revoked_at) return record;
    const revoked = { ...record, revoked_at: now.toISOString() };
    await this.redis.hset(this.records, digest, JSON.stringify(revoked));
    return revoked;
  }

  /** Revokes every active key issued to `name`; returns the keys it revoked (none is not an error). */
  async revokeName(name: string, now = new Date()): Promise<ApiKeyRecord[]> {
    const active = (await this.list()).filter((r) => r.name === name && !r.revoked_at);
    const out: ApiKeyRecord[] = [];
    for (const r of active) out.push(await this.revoke(r.id, now));
    return out;
  }
}
