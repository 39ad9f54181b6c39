import { basename, relative, sep } from 'node:path';

/** A file's place as clients see it: the asset root's name and the path inside it (forward slashes). */
export interface AssetPlace {
  root: string;
  path: string;
}

/**
 * Shows server paths the way clients may see them: relative to their asset root plus the root's
 * name (its folder name; a repeated name gets -2, -3 in ASSET_ROOTS order), never the absolute
 * path, which tells an attacker the server's layout. Used for asset views, ingest reports and
 * as a last redaction of error messages.
 */
export class AssetPaths {
  private readonly roots: { dir: string; name: string }[];

  constructor(rootDirs: readonly string[]) {
    const seen = new Map<string, number>();
    const named = rootDirs.map((dir) => {
      const base = basename(dir) || 'root';
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      return { dir, name: n === 1 ? base : `${base}-${n}` };
    });
    // Longest first, so a root nested in another is matched before its parent.
    this.roots = named.sort((a, b) => b.dir.length - a.dir.length);
  }

  /** The root and relative path of an absolute path inside a root, else undefined. */
  place(absPath: string): AssetPlace | undefined {
    for (const r of this.roots) {
      if (absPath === r.dir) return { root: r.name, path: '' };
      const prefix = r.dir.endsWith(sep) ? r.dir : r.dir + sep;
      if (absPath.startsWith(prefix)) return { root: r.name, path: relative(r.dir, absPath).split(sep).join('/') };
    }
    return undefined;
  }

  /** `name/relative/path` for a path inside a root; anything else is shown as its file name only. */
  show(absPath: string): string {
    const p = this.place(absPath);
    if (p) return p.path ? `${p.root}/${p.path}` : p.root;
    return basename(absPath);
  }

  /** Replaces every absolute root path inside a text (an error message, a report line) by the root's name. */
  redact(text: string): string {
    let out = text;
    for (const r of this.roots) if (r.dir.length > 1) out = out.split(r.dir).join(r.name);
    return out;
  }

  /** `redact` applied to every string of a JSON value (reports whose fields may carry paths). */
  redactDeep<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((v: unknown) => this.redactDeep(v)) as T;
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.redactDeep(v)])) as T;
    return value;
  }
}
