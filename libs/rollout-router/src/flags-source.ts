import { readFile } from 'node:fs/promises';
import { DEFAULT_FLAGS, FlagError, parseFlagsFile, readFlags, type FlagOrigin, type RolloutFlags } from './flags.js';

/** The minimal logger the lib needs (pino-compatible). */
export interface RouterLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** What the admin endpoint shows about the flags. */
export interface FlagsStatus {
  flags: RolloutFlags;
  /** Where each flag's value came from. */
  origins: Record<keyof RolloutFlags, FlagOrigin>;
  /** `env`, or `env+file` once a flags file has been applied. */
  source: 'env' | 'env+file';
  file:
    | { path: string; appliedAt: string | undefined; lastError: string | undefined; lastErrorAt: string | undefined }
    | undefined;
}

/**
 * The effective rollout flags: the environment read once at start-up (a bad value is a
 * start-up error naming the variable), overlaid by an optional flags file that is re-read
 * every `pollMs` and applied live. A bad file keeps the last good flags and logs why.
 *
 * Polling (not fs.watch) because a mounted ConfigMap is updated by swapping a symlink, which
 * inotify watches on the file miss; reading a few bytes once a second costs nothing.
 */
export class FlagsSource {
  private envFlags: RolloutFlags;
  private envOrigins: Record<keyof RolloutFlags, FlagOrigin>;
  private current: RolloutFlags;
  private origins: Record<keyof RolloutFlags, FlagOrigin>;
  private lastText: string | undefined;
  private appliedAt: string | undefined;
  private lastError: string | undefined;
  private lastErrorAt: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(flags: RolloutFlags) => void>();

  /** Throws a FlagError naming the variable when the environment holds a bad flag. */
  constructor(
    env: Record<string, unknown>,
    private readonly opts: { filePath?: string; pollMs?: number; logger?: RouterLogger } = {},
  ) {
    const { flags, origins } = readFlags(env, DEFAULT_FLAGS, 'env');
    this.envFlags = flags;
    this.envOrigins = origins;
    this.current = flags;
    this.origins = origins;
  }

  /** The flags in effect now. */
  get flags(): RolloutFlags {
    return this.current;
  }

  /** Calls `fn` whenever the effective flags change. */
  onChange(fn: (flags: RolloutFlags) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Reads the flags file once (when configured) and starts polling it. */
  async start(): Promise<void> {
    if (!this.opts.filePath) return;
    await this.reload();
    this.timer = setInterval(() => void this.reload(), this.opts.pollMs ?? 1000);
    this.timer.unref();
  }

  /** Stops polling. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Re-reads the flags file now; returns whether the flags changed. */
  async reload(): Promise<boolean> {
    const path = this.opts.filePath;
    if (!path) return false;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A missing file means "no overrides yet" only before anything was applied; afterwards
      // keeping the last good flags is safer than silently reverting to the environment.
      return this.fail(`cannot read ${path} (${code ?? (err as Error).message}); keeping the last good flags`);
    }
    if (text === this.lastText) return false;
    try {
      const raw = parseFlagsFile(text);
      const { flags, origins } = readFlags(raw, this.envFlags, 'file', this.envOrigins);
      this.lastText = text;
      this.lastError = undefined;
      this.lastErrorAt = undefined;
      this.appliedAt = new Date().toISOString();
      return this.apply(flags, origins);
    } catch (err) {
      this.lastText = text;
      const why = err instanceof FlagError ? err.message : (err as Error).message;
      return this.fail(`flags file ${path} rejected: ${why}; keeping the last good flags`);
    }
  }

  /** Snapshot for the admin endpoint. */
  status(): FlagsStatus {
    const fromFile = Object.values(this.origins).includes('file');
    return {
      flags: { ...this.current },
      origins: { ...this.origins },
      source: fromFile ? 'env+file' : 'env',
      file: this.opts.filePath
        ? {
            path: this.opts.filePath,
            appliedAt: this.appliedAt,
            lastError: this.lastError,
            lastErrorAt: this.lastErrorAt,
          }
        : undefined,
    };
  }

  private fail(message: string): boolean {
    if (message !== this.lastError) this.opts.logger?.warn({ flags_file: this.opts.filePath }, message);
    this.lastError = message;
    this.lastErrorAt = new Date().toISOString();
    return false;
  }

  private apply(flags: RolloutFlags, origins: Record<keyof RolloutFlags, FlagOrigin>): boolean {
    const changed = JSON.stringify(flags) !== JSON.stringify(this.current);
    this.current = flags;
    this.origins = origins;
    if (changed) {
      this.opts.logger?.info({ flags, flags_file: this.opts.filePath }, 'rollout flags applied from flags file');
      for (const l of this.listeners) l(flags);
    }
    return changed;
  }
}
