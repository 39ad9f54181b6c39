import { realpathSync } from 'node:fs';
import { basename, isAbsolute } from 'node:path';
import type { AssetCatalogue, CatalogueEntry } from '@image-search/asset-catalogue';
import type { RawJudgment } from './judgments.js';
import type { JudgedQuery } from './metrics.js';

const ASSET_ID = /^[0-9a-f]{32}$/;

/** Every catalogue entry (the catalogue is the list of assets that exist, whatever a collection holds). */
export async function catalogueEntries(catalogue: AssetCatalogue): Promise<CatalogueEntry[]> {
  const out: CatalogueEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await catalogue.scroll({ limit: 1000, cursor });
    out.push(...page.entries);
    cursor = page.next;
  } while (cursor);
  return out;
}

/** What resolving the judgments left out, for the report. */
export interface ResolveReport {
  /** Relevant items that match no catalogued asset (first 20) and how many. */
  unresolved: string[];
  unresolvedCount: number;
  /** Relative paths that match several assets (give the asset id or a longer path). */
  ambiguous: string[];
  /** Queries dropped because none of their relevant items resolved. */
  droppedQueries: string[];
}

/**
 * Turns each judgment's relevant items into asset ids: a 32-hex asset id, an absolute path (the
 * catalogue's real path), or a path relative to its asset root (`photos/red.jpg`, also with the
 * root's folder name in front), matched as a whole-segment suffix of one catalogued path.
 */
export function resolveJudgments(
  raw: readonly RawJudgment[],
  entries: readonly CatalogueEntry[],
): { queries: JudgedQuery[]; report: ResolveReport } {
  const ids = new Set(entries.map((e) => e.assetId));
  const byPath = new Map(entries.map((e) => [e.path, e.assetId]));
  const byBase = new Map<string, CatalogueEntry[]>();
  for (const e of entries) byBase.set(basename(e.path), [...(byBase.get(basename(e.path)) ?? []), e]);
  const report: ResolveReport = { unresolved: [], unresolvedCount: 0, ambiguous: [], droppedQueries: [] };
  const resolveOne = (item: string): string | undefined => {
    if (ASSET_ID.test(item)) return ids.has(item) ? item : undefined;
    if (isAbsolute(item)) {
      const exact = byPath.get(item);
      if (exact) return exact;
      try {
        return byPath.get(realpathSync(item));
      } catch {
        return undefined;
      }
    }
    const rel = item.replace(/\\/g, '/').replace(/^\.\//, '');
    const matches = (byBase.get(basename(rel)) ?? []).filter((e) => e.path.replace(/\\/g, '/').endsWith(`/${rel}`));
    if (matches.length > 1) {
      if (!report.ambiguous.includes(item)) report.ambiguous.push(item);
      return undefined;
    }
    return matches[0]?.assetId;
  };
  const queries: JudgedQuery[] = [];
  for (const j of raw) {
    const relevant: string[] = [];
    const grades: Record<string, number> = {};
    for (const item of j.relevant) {
      const id = resolveOne(item);
      if (!id) {
        report.unresolvedCount++;
        if (report.unresolved.length < 20) report.unresolved.push(item);
        continue;
      }
      if (!relevant.includes(id)) relevant.push(id);
      const g = j.grades?.[item];
      if (g !== undefined) grades[id] = g;
    }
    if (relevant.length === 0) {
      report.droppedQueries.push(j.query);
      continue;
    }
    queries.push({ query: j.query, relevant, grades, ...(j.slice ? { slice: j.slice } : {}) });
  }
  return { queries, report };
}
