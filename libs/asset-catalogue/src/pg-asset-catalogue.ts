import pg from 'pg';
import { AppError } from '@image-search/service-kit';
import type { AssetCatalogue, CatalogueEntry, CataloguePage, CatalogueWrite } from './asset-catalogue.port.js';
import { validateWrites, validIds, validLimit } from './validation.js';
import { modelStateConflict, parseModelState, type ModelState, type ModelStateWrite } from './model-state.js';

/** Options of the PostgreSQL catalogue. */
export interface PgAssetCatalogueOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** The schema holding the `assets` table (created when missing); tests use one schema each. */
  schema?: string;
  /** Connections in the pool. */
  poolSize?: number;
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

interface Row {
  asset_id: string;
  path: string;
  content_hash: string;
  updated_at: Date;
}

const toEntry = (r: Row): CatalogueEntry => ({
  assetId: r.asset_id,
  path: r.path,
  contentHash: r.content_hash,
  updatedAt: r.updated_at.toISOString(),
});

/** The URL without its password, for logs and `location`. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres (unparsable URL)';
  }
}

/**
 * The catalogue in PostgreSQL: one `assets` table keyed by asset id. Writes are single
 * statements (unnest of arrays), so a batch is stored whole or not at all; scrolls page by key.
 */
export class PgAssetCatalogue implements AssetCatalogue {
  readonly location: string;
  private readonly table: string;
  private readonly stateTable: string;

  private constructor(
    private readonly pool: pg.Pool,
    schema: string,
    url: string,
  ) {
    this.table = `"${schema}".assets`;
    this.stateTable = `"${schema}".model_state`;
    this.location = `${redact(url)} (schema ${schema})`;
  }

  /** Connects and creates the schema and table when missing; UNAVAILABLE naming the server when it cannot. */
  static async open(opts: PgAssetCatalogueOptions): Promise<PgAssetCatalogue> {
    const schema = opts.schema ?? 'image_search';
    if (!SCHEMA.test(schema))
      throw new AppError('INVALID_CONFIG', `catalogue schema ${JSON.stringify(schema)}: lower-case letters, digits, _`);
    const pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize ?? 4, connectionTimeoutMillis: 5000 });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    const cat = new PgAssetCatalogue(pool, schema, opts.url);
    try {
      await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await pool.query(
        `CREATE TABLE IF NOT EXISTS ${cat.table} (
           asset_id text PRIMARY KEY,
           path text NOT NULL,
           content_hash text NOT NULL,
           updated_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      await pool.query(
        `CREATE TABLE IF NOT EXISTS ${cat.stateTable} (id int PRIMARY KEY CHECK (id = 1), version int NOT NULL, doc jsonb NOT NULL)`,
      );
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new AppError('UNAVAILABLE', `asset catalogue at ${cat.location}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return cat;
  }

  async upsert(entries: CatalogueWrite[]): Promise<void> {
    validateWrites(entries);
    if (entries.length === 0) return;
    await this.pool.query(
      `INSERT INTO ${this.table} (asset_id, path, content_hash, updated_at)
       SELECT id, p, h, now() FROM unnest($1::text[], $2::text[], $3::text[]) AS t(id, p, h)
       ON CONFLICT (asset_id) DO UPDATE SET path = excluded.path, content_hash = excluded.content_hash, updated_at = now()`,
      [entries.map((e) => e.assetId), entries.map((e) => e.path), entries.map((e) => e.contentHash)],
    );
  }

  async get(assetIds: string[]): Promise<CatalogueEntry[]> {
    const ids = validIds(assetIds);
    if (ids.length === 0) return [];
    const r = await this.pool.query<Row>(`SELECT * FROM ${this.table} WHERE asset_id = ANY($1::text[])`, [ids]);
    return r.rows.map(toEntry);
  }

  async remove(assetIds: string[]): Promise<void> {
    const ids = validIds(assetIds);
    if (ids.length) await this.pool.query(`DELETE FROM ${this.table} WHERE asset_id = ANY($1::text[])`, [ids]);
  }

  async count(): Promise<number> {
    const r = await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.table}`);
    return Number(r.rows[0]!.n);
  }

  async scroll(opts: { limit: number; cursor?: string | undefined }): Promise<CataloguePage> {
    const limit = validLimit(opts.limit);
    let after = '';
    if (opts.cursor !== undefined) {
      const m = /^a([0-9a-f]{32})$/.exec(opts.cursor);
      if (!m)
        throw new AppError(
          'INVALID_ARGUMENT',
          `catalogue cursor ${JSON.stringify(opts.cursor)} is malformed; pass back 'next'`,
        );
      after = m[1]!;
    }
    // Keyset pagination on the primary key: no entry is skipped or repeated while others write.
    const r = await this.pool.query<Row>(`SELECT * FROM ${this.table} WHERE asset_id > $1 ORDER BY asset_id LIMIT $2`, [
      after,
      limit,
    ]);
    const last = r.rows.at(-1);
    return { entries: r.rows.map(toEntry), next: r.rows.length === limit && last ? `a${last.asset_id}` : undefined };
  }

  async readModelState(): Promise<ModelState | undefined> {
    const r = await this.pool.query<{ doc: unknown }>(`SELECT doc FROM ${this.stateTable} WHERE id = 1`);
    return r.rows[0] ? parseModelState(r.rows[0].doc, this.location) : undefined;
  }

  async writeModelState(next: ModelStateWrite, expectedVersion: number): Promise<ModelState> {
    const state: ModelState = { ...next, version: expectedVersion + 1, updated_at: new Date().toISOString() };
    // One statement each way, so two writers cannot both win: the insert only when no row exists yet,
    // the update only while the stored version is the one the writer read.
    const r =
      expectedVersion === 0
        ? await this.pool.query(
            `INSERT INTO ${this.stateTable} (id, version, doc) VALUES (1, 1, $1) ON CONFLICT (id) DO NOTHING`,
            [state],
          )
        : await this.pool.query(`UPDATE ${this.stateTable} SET version = $1, doc = $2 WHERE id = 1 AND version = $3`, [
            state.version,
            state,
            expectedVersion,
          ]);
    if (r.rowCount !== 1) throw modelStateConflict(expectedVersion, (await this.readModelState())?.version ?? 0);
    return state;
  }

  /** Drops the schema (tests only). */
  async dropSchema(): Promise<void> {
    await this.pool.query(`DROP SCHEMA IF EXISTS ${this.table.split('.')[0]} CASCADE`);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
