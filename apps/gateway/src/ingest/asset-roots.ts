import { realpath } from 'node:fs/promises';
import { isAbsolute, resolve, sep } from 'node:path';
import { AppError } from '@image-search/service-kit';

/** The allowed asset folders (ASSET_ROOTS), resolved to real paths once. */
export class AssetRoots {
  private constructor(readonly roots: string[]) {}

  /** Resolves each root with realpath; missing roots are dropped and reported. */
  static async resolve(configured: string[]): Promise<{ roots: AssetRoots; missing: string[] }> {
    const real: string[] = [];
    const missing: string[] = [];
    for (const r of configured) {
      try {
        real.push(await realpath(resolve(r)));
      } catch {
        missing.push(r);
      }
    }
    return { roots: new AssetRoots(real), missing };
  }

  /** Whether a REAL path is one of the roots or inside one. */
  contains(realPath: string): boolean {
    return this.roots.some((root) => realPath === root || realPath.startsWith(root.endsWith(sep) ? root : root + sep));
  }

  /**
   * Resolves a client-given path to its real path and refuses anything outside the roots,
   * whether reached through `..` or through symlinks (the check is on the realpath).
   */
  async check(path: string, field: string): Promise<string> {
    if (this.roots.length === 0)
      throw new AppError(
        'PERMISSION_DENIED',
        'ingestion is disabled: ASSET_ROOTS is empty; set it to the folders images may be read from',
        { details: { field } },
      );
    if (!isAbsolute(path))
      throw new AppError('INVALID_ARGUMENT', `${field}: must be an absolute path (got ${JSON.stringify(path)})`, {
        details: { field },
      });
    let real: string;
    try {
      real = await realpath(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Existence is only revealed inside the roots, so the API cannot probe the file system.
      if (!this.contains(resolve(path))) throw outside(field, path, this.roots);
      throw new AppError('NOT_FOUND', `${field}: ${path} does not exist or cannot be read (${code ?? 'error'})`, {
        details: { field },
      });
    }
    if (!this.contains(real)) throw outside(field, path, this.roots);
    return real;
  }
}

function outside(field: string, path: string, roots: string[]): AppError {
  return new AppError(
    'PERMISSION_DENIED',
    `${field}: ${path} is outside the allowed asset roots (ASSET_ROOTS: ${roots.join(', ')}); paths are checked after resolving '..' and symlinks`,
    {
      details: { field, reason: 'outside_asset_roots' },
    },
  );
}
