import { AppError } from '@image-search/service-kit';
import type { FilterCondition, PayloadFilter } from './vector-store.port.js';

/** How a filterable payload field is compared. */
export type FieldKind = 'keyword' | 'number' | 'datetime';

/**
 * The payload fields a filter may name, with their kinds. Both engines accept exactly these, so a
 * filter that works on the laptop works in production; the embedded engine keeps one typed column each.
 */
export const FILTERABLE_FIELDS: Readonly<Record<string, FieldKind>> = {
  asset_id: 'keyword',
  path: 'keyword',
  path_hash: 'keyword',
  category: 'keyword',
  format: 'keyword',
  date_taken: 'datetime',
  created_at: 'datetime',
  width: 'number',
  height: 'number',
  file_size: 'number',
  file_mtime_ms: 'number',
};

const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Parses an ISO 8601 date(-time) to the canonical UTC form (`toISOString`), or undefined. */
export function canonicalDate(value: unknown): string | undefined {
  if (typeof value !== 'string' || !ISO_DATE.test(value)) return undefined;
  const t = Date.parse(value);
  if (!Number.isFinite(t)) return undefined;
  const iso = new Date(t).toISOString();
  // Years outside 0000-9999 would break the lexicographic order the embedded engine relies on.
  return iso.length === 24 ? iso : undefined;
}

function bad(message: string): AppError {
  return new AppError('INVALID_ARGUMENT', `malformed filter: ${message}`);
}

/** A validated condition, values already in canonical form. */
export type CheckedCondition =
  | { key: string; kind: FieldKind; op: 'eq'; value: string | number }
  | { key: string; kind: FieldKind; op: 'in'; values: (string | number)[] }
  | {
      key: string;
      kind: FieldKind;
      op: 'range';
      bounds: { gt?: string | number; gte?: string | number; lt?: string | number; lte?: string | number };
    };

/** A validated filter: conditions that must all hold and conditions none of which may hold. */
export interface CheckedFilter {
  must: CheckedCondition[];
  mustNot: CheckedCondition[];
}

function checkScalar(key: string, kind: FieldKind, v: unknown, where: string): string | number {
  if (kind === 'number') {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw bad(`${where}: '${key}' is numeric, got ${JSON.stringify(v) ?? String(v)}`);
    return v;
  }
  if (kind === 'datetime') {
    const d = canonicalDate(v);
    if (d === undefined)
      throw bad(
        `${where}: '${key}' is a date-time, got ${JSON.stringify(v) ?? String(v)} (expected ISO 8601, e.g. 2024-05-01T00:00:00Z)`,
      );
    return d;
  }
  if (typeof v !== 'string') throw bad(`${where}: '${key}' is text, got ${JSON.stringify(v) ?? String(v)}`);
  if (v.length > 4096) throw bad(`${where}: value for '${key}' is longer than 4096 characters`);
  // NUL could truncate the predicate text in the embedded engine; both engines refuse it alike.
  if (v.includes('\u0000')) throw bad(`${where}: value for '${key}' contains a NUL character`);
  return v;
}

function checkCondition(c: unknown, where: string): CheckedCondition {
  if (c === null || typeof c !== 'object' || Array.isArray(c))
    throw bad(`${where} must be an object with 'key' and 'match' or 'range'`);
  const cond = c as Record<string, unknown>;
  const extra = Object.keys(cond).filter((k) => !['key', 'match', 'range'].includes(k));
  if (extra.length) throw bad(`${where} has unknown field(s) ${extra.map((k) => `'${k}'`).join(', ')}`);
  const key = cond['key'];
  if (typeof key !== 'string') throw bad(`${where}: 'key' must be a string`);
  const kind = Object.hasOwn(FILTERABLE_FIELDS, key) ? FILTERABLE_FIELDS[key] : undefined;
  if (kind === undefined)
    throw bad(
      `${where}: key ${JSON.stringify(key)} is not filterable; filterable keys: ${Object.keys(FILTERABLE_FIELDS).join(', ')}`,
    );
  const hasMatch = cond['match'] !== undefined;
  const hasRange = cond['range'] !== undefined;
  if (hasMatch === hasRange) throw bad(`${where} ('${key}') needs exactly one of 'match' or 'range'`);
  if (hasMatch) {
    const m = cond['match'];
    if (m === null || typeof m !== 'object' || Array.isArray(m))
      throw bad(`${where}: 'match' must be an object with 'value' or 'any'`);
    const mm = m as Record<string, unknown>;
    const mk = Object.keys(mm);
    if (mk.length !== 1 || (mk[0] !== 'value' && mk[0] !== 'any'))
      throw bad(`${where}: 'match' must have exactly one of 'value' or 'any'`);
    if (kind === 'datetime') throw bad(`${where}: '${key}' is a date-time; use 'range' instead of 'match'`);
    if (mk[0] === 'value') return { key, kind, op: 'eq', value: checkScalar(key, kind, mm['value'], where) };
    const any = mm['any'];
    if (!Array.isArray(any) || any.length === 0) throw bad(`${where}: 'match.any' must be a non-empty array`);
    if (any.length > 1000) throw bad(`${where}: 'match.any' has ${any.length} values; at most 1000`);
    return { key, kind, op: 'in', values: any.map((v) => checkScalar(key, kind, v, where)) };
  }
  const r = cond['range'];
  if (r === null || typeof r !== 'object' || Array.isArray(r))
    throw bad(`${where}: 'range' must be an object with gt, gte, lt or lte`);
  if (kind === 'keyword') throw bad(`${where}: '${key}' is text; 'range' applies to numbers and date-times`);
  const rr = r as Record<string, unknown>;
  const unknownOps = Object.keys(rr).filter((k) => !['gt', 'gte', 'lt', 'lte'].includes(k));
  if (unknownOps.length)
    throw bad(`${where}: 'range' has unknown bound(s) ${unknownOps.map((k) => `'${k}'`).join(', ')}`);
  const bounds: { gt?: string | number; gte?: string | number; lt?: string | number; lte?: string | number } = {};
  for (const op of ['gt', 'gte', 'lt', 'lte'] as const)
    if (rr[op] !== undefined) bounds[op] = checkScalar(key, kind, rr[op], where);
  if (Object.keys(bounds).length === 0) throw bad(`${where}: 'range' on '${key}' has no bounds`);
  return { key, kind, op: 'range', bounds };
}

/** Validates a filter (shape, keys, value types) and canonicalises dates; INVALID_ARGUMENT names the problem. */
export function checkFilter(filter: PayloadFilter | undefined): CheckedFilter | undefined {
  if (filter === undefined || filter === null) return undefined;
  if (typeof filter !== 'object' || Array.isArray(filter))
    throw bad('expected an object with optional must and must_not arrays');
  const unknownKeys = Object.keys(filter).filter((k) => k !== 'must' && k !== 'must_not');
  if (unknownKeys.length)
    throw bad(`unknown clause(s) ${unknownKeys.map((k) => `'${k}'`).join(', ')}; supported: must, must_not`);
  const list = (name: 'must' | 'must_not'): CheckedCondition[] => {
    const v = (filter as Record<string, unknown>)[name];
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw bad(`'${name}' must be an array of conditions`);
    if (v.length > 64) throw bad(`'${name}' has ${v.length} conditions; at most 64`);
    return v.map((c: unknown, i) => checkCondition(c, `${name}[${i}]`));
  };
  const checked = { must: list('must'), mustNot: list('must_not') };
  return checked.must.length + checked.mustNot.length === 0 ? undefined : checked;
}

/** A value as a SQL literal: strings single-quoted with quotes doubled, numbers only when finite. */
function sqlLiteral(v: string | number): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw bad(`non-finite number ${v}`);
    return String(v);
  }
  // Keys are whitelisted and values are quoted; NUL is refused since it can truncate the predicate text.
  if (v.includes('\u0000')) throw bad('text values may not contain NUL characters');
  return `'${v.replace(/'/g, "''")}'`;
}

const SQL_OP = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

function conditionSql(c: CheckedCondition): string {
  // Column names come from FILTERABLE_FIELDS only (plain identifiers), never from the caller.
  const col = c.key;
  switch (c.op) {
    case 'eq':
      return `${col} = ${sqlLiteral(c.value)}`;
    case 'in':
      return `${col} IN (${c.values.map(sqlLiteral).join(', ')})`;
    case 'range':
      return `(${(Object.keys(c.bounds) as (keyof typeof SQL_OP)[]).map((op) => `${col} ${SQL_OP[op]} ${sqlLiteral(c.bounds[op]!)}`).join(' AND ')})`;
  }
}

/**
 * Translates a checked filter to a LanceDB (DataFusion SQL) predicate. `must_not` keeps points that lack
 * the field, as Qdrant does, hence `col IS NULL OR NOT (...)`.
 */
export function toLanceSql(filter: CheckedFilter | undefined): string | undefined {
  if (!filter) return undefined;
  const parts = [
    ...filter.must.map((c) => `(${c.key} IS NOT NULL AND ${conditionSql(c)})`),
    ...filter.mustNot.map((c) => `(${c.key} IS NULL OR NOT (${conditionSql(c)}))`),
  ];
  return parts.join(' AND ');
}

type QdrantCondition = Record<string, unknown>;

function qdrantCondition(c: CheckedCondition): QdrantCondition {
  switch (c.op) {
    case 'eq':
      return { key: c.key, match: { value: c.value } };
    case 'in':
      return { key: c.key, match: { any: c.values } };
    case 'range':
      return { key: c.key, range: { ...c.bounds } };
  }
}

/** Translates a checked filter to Qdrant's filter JSON. */
export function toQdrantFilter(
  filter: CheckedFilter | undefined,
): { must?: QdrantCondition[]; must_not?: QdrantCondition[] } | undefined {
  if (!filter) return undefined;
  return {
    ...(filter.must.length ? { must: filter.must.map(qdrantCondition) } : {}),
    ...(filter.mustNot.length ? { must_not: filter.mustNot.map(qdrantCondition) } : {}),
  };
}

/** Re-exported for tests: the unchecked condition type. */
export type { FilterCondition };
