// Integration: the real tools:api-key CLI process against the real Redis (unique QUEUE_PREFIX);
// the keys it prints are then checked with the same ApiKeyStore the gateway uses.
import { afterAll, describe, expect, it } from 'vitest';
import { ApiKeyStore, type ApiKeyRecord } from '@image-search/api-keys';
import { deleteKeys, startTsProcess, testEnv, testRedis, uniqueName } from '@image-search/testing';

const prefix = uniqueName('api-key-cli');
const redis = testRedis();
const store = new ApiKeyStore(redis, prefix);

afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

async function run(args: string[], env: Record<string, string> = {}) {
  const p = startTsProcess(
    'tools/src/api-key.cli.ts',
    { REDIS_URL: testEnv.redisUrl, QUEUE_PREFIX: prefix, ...env },
    args,
  );
  const code = await p.exited;
  return { code, out: p.output() };
}

describe('tools:api-key process (real Redis)', () => {
  it('creates a key shown once, lists it without the key, and revokes it by id and by name', async () => {
    const created = await run(['create', '--scope', 'admin', '--name', 'alice']);
    expect(created.code).toBe(0);
    const key = /(isk_\S+)/.exec(created.out)?.[1];
    expect(key).toBeDefined();
    expect(created.out).toContain('only time the key is shown');
    const found = await store.lookup(key!);
    expect(found).toMatchObject({ ok: true, record: { name: 'alice', scope: 'admin' } });

    const second = JSON.parse((await run(['create', '--name', 'alice', '--json'])).out) as ApiKeyRecord & {
      key: string;
    };
    expect(second.scope).toBe('search');

    const listed = await run(['list']);
    expect(listed.code).toBe(0);
    expect(listed.out).not.toContain(key!);
    expect(listed.out).not.toContain(second.key);
    expect(listed.out).toMatch(/admin\s+alice/);

    const id = found.ok ? found.record.id : '';
    const revoked = await run(['revoke', id]);
    expect(revoked.code).toBe(0);
    expect(revoked.out).toContain(`revoked ${id}`);
    expect(await store.lookup(key!)).toEqual({ ok: false, reason: 'revoked' });
    expect((await store.lookup(second.key)).ok).toBe(true);

    const byName = await run(['revoke', '--name', 'alice', '--json']);
    expect((JSON.parse(byName.out) as ApiKeyRecord[]).map((r) => r.id)).toEqual([second.id]);
    expect(await store.lookup(second.key)).toEqual({ ok: false, reason: 'revoked' });
    const all = JSON.parse((await run(['list', '--json'])).out) as ApiKeyRecord[];
    expect(all.every((r) => r.revoked_at !== null)).toBe(true);
  });

  it('names bad arguments (exit 2) and unknown ids or an unreachable Redis (exit 1)', async () => {
    const noName = await run(['create']);
    expect(noName.code).toBe(2);
    expect(noName.out).toContain('create needs --name <user>');
    expect(noName.out).toContain('usage: npx nx run tools:api-key');
    expect((await run(['create', '--name', 'x', '--scope', 'root'])).out).toContain(
      '--scope must be one of search, admin (got "root")',
    );
    expect((await run(['revoke'])).out).toContain('revoke needs either a key id or --name');
    expect((await run(['rotate'])).out).toContain('unknown command "rotate"');
    const bad = await run(['create', '--name', 'has space']);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('name: must be');
    const unknown = await run(['revoke', '0123456789ab']);
    expect(unknown.code).toBe(1);
    expect(unknown.out).toContain('no API key with id "0123456789ab"');
    const down = await run(['list'], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(down.code).toBe(1);
    expect(down.out).toContain('cannot reach Redis at REDIS_URL');
  });
});
