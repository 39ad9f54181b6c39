// tools:api-key: creates, lists and revokes the gateway's API keys (stored hashed in Redis).
//   npx nx run tools:api-key -- create --scope search --name alice | list [--json] | revoke <id> | revoke --name alice
import { Redis } from 'ioredis';
import { z } from 'zod';
import { env, isAppError, parseCommandLine, parseConfig, runCli, UsageError } from '@image-search/service-kit';
import { API_KEY_SCOPES, ApiKeyStore, type ApiKeyRecord, type ApiKeyScope } from '@image-search/api-keys';

const USAGE = `api-key: API keys of the gateway (AUTH_API_KEYS=true), stored as sha256 digests in Redis

usage: npx nx run tools:api-key -- <command> [options]

commands:
  create --name <user> [--scope search|admin] [--json]
                   make a key for <user> (default scope search); the key is printed once, keep it
  list [--json]    every key: id, user, scope, created, revoked (never the keys themselves)
  revoke <id>      revoke one key (the id from list); effective on the next request, on every replica
  revoke --name <user>
                   revoke every active key of <user>

The key's user becomes the request's identity (and its rollout bucket). Scope search may search
and read assets and images; admin may also ingest and use the admin API.
Environment: REDIS_URL (default redis://127.0.0.1:6379), QUEUE_PREFIX (default isearch): the
same values as the gateway's. Exit status: 0 done, 1 error, 2 bad arguments.`;

const configSchema = z.object({
  REDIS_URL: env.str('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: env.str('isearch'),
});

type Args =
  | { command: 'create'; name: string; scope: ApiKeyScope; json: boolean }
  | { command: 'list'; json: boolean }
  | { command: 'revoke'; id: string | undefined; name: string | undefined; json: boolean };

/** Parses the command line; a string is a usage error (empty for --help). */
function parse(argv: string[]): Args | string {
  const { values: v, positionals: p } = parseCommandLine({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      scope: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (v.help) return '';
  const command = p[0];
  if (command === 'create') {
    if (p.length > 1) return `unexpected argument ${JSON.stringify(p[1])}`;
    if (!v.name) return 'create needs --name <user> (who the key is for)';
    const scope = v.scope ?? 'search';
    if (!(API_KEY_SCOPES as readonly string[]).includes(scope))
      return `--scope must be one of ${API_KEY_SCOPES.join(', ')} (got ${JSON.stringify(scope)})`;
    return { command, name: v.name, scope: scope as ApiKeyScope, json: v.json };
  }
  if (command === 'list') {
    if (p.length > 1 || v.name || v.scope) return 'list takes no arguments but --json';
    return { command, json: v.json };
  }
  if (command === 'revoke') {
    if (v.scope) return '--scope belongs to create';
    if ((p[1] === undefined) === (v.name === undefined)) return 'revoke needs either a key id or --name <user>';
    if (p.length > 2) return `unexpected argument ${JSON.stringify(p[2])}`;
    return { command, id: p[1], name: v.name, json: v.json };
  }
  return command === undefined
    ? 'missing command (one of create, list, revoke)'
    : `unknown command ${JSON.stringify(command)} (one of create, list, revoke)`;
}

function line(r: ApiKeyRecord): string {
  return `${r.id}  ${r.scope.padEnd(6)}  ${r.name.padEnd(24)}  created ${r.created_at}${r.revoked_at ? `  REVOKED ${r.revoked_at}` : ''}`;
}

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  if (typeof args === 'string') throw new UsageError(args);
  let config;
  try {
    config = parseConfig(configSchema);
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    return 2;
  }
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 3000, lazyConnect: true });
  redis.on('error', () => undefined);
  try {
    await redis.connect().catch((err: unknown) => {
      throw new Error(`cannot reach Redis at REDIS_URL ${config.REDIS_URL}: ${(err as Error).message}`);
    });
    const store = new ApiKeyStore(redis, config.QUEUE_PREFIX);
    switch (args.command) {
      case 'create': {
        const { key, record } = await store.create(args.name, args.scope);
        if (args.json) console.log(JSON.stringify({ key, ...record }));
        else
          console.log(
            `created ${record.scope} key ${record.id} for ${record.name}\n\n  ${key}\n\n` +
              'This is the only time the key is shown. Send it as "Authorization: Bearer <key>", or paste it into the search page.',
          );
        return 0;
      }
      case 'list': {
        const all = await store.list();
        if (args.json) console.log(JSON.stringify(all));
        else if (all.length === 0) console.log(`no API keys under QUEUE_PREFIX ${config.QUEUE_PREFIX}`);
        else for (const r of all) console.log(line(r));
        return 0;
      }
      case 'revoke': {
        const revoked = args.id ? [await store.revoke(args.id)] : await store.revokeName(args.name!);
        if (args.json) console.log(JSON.stringify(revoked));
        else if (revoked.length === 0) console.log(`${args.name} has no active keys`);
        else for (const r of revoked) console.log(`revoked ${line(r)}`);
        return 0;
      }
    }
  } catch (err) {
    console.error(`error: ${isAppError(err) ? `${err.code}: ${err.message}` : (err as Error).message}`);
    return 1;
  } finally {
    redis.disconnect();
  }
}

await runCli('api-key', USAGE, main);
