import { dirname, sep } from 'node:path';
import watcher, { type AsyncSubscription, type Event } from '@parcel/watcher';
import type { Logger } from '@image-search/service-kit';

/** What the watcher needs from the ingest service: start a rescan of a folder, and follow it. */
export interface WatchIngest {
  /** Starts a reconciling ingest of the folder (recursive) and returns its id. */
  start(folder: string): Promise<string>;
  /** The ingest's state ('completed' and 'failed' end it). */
  state(id: string): Promise<string>;
}

/** The deepest folder holding every one of these paths (they all lie under `root`). */
export function commonFolder(root: string, paths: Iterable<string>): string {
  let common: string[] | undefined;
  for (const p of paths) {
    const parts = p.split(sep);
    if (!common) common = parts;
    else {
      let i = 0;
      while (i < common.length && i < parts.length && common[i] === parts[i]) i++;
      common = common.slice(0, i);
    }
  }
  const folder = common ? common.join(sep) || sep : root;
  return folder.length >= root.length && (folder === root || folder.startsWith(root + sep)) ? folder : root;
}

/**
 * Watch mode: follows every asset root with @parcel/watcher and reconciles what changed. @parcel/watcher
 * rather than chokidar: its native backends (inotify, FSEvents, ReadDirectoryChangesW) deliver events in
 * batches coalesced in C++, so a burst of thousands of files costs a few callbacks instead of a JavaScript
 * watcher and a stat per file, and a recursive watch needs no handle per folder kept in JavaScript.
 *
 * Events are not trusted one by one (a copy in progress, a rename seen as delete + create, a dropped
 * event on overflow): they only say where to look. After `debounceMs` of quiet (at most `maxWaitMs` after
 * the first event of a burst), the deepest folder holding every change is rescanned with the same
 * reconciling ingest as a manual one; changes arriving during that rescan cause one more rescan after it.
 */
export class IngestWatcher {
  private readonly subs: AsyncSubscription[] = [];
  private readonly pending = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | undefined;
  private firstAt = 0;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Rescans started (for logs and tests). */
  rescans = 0;

  constructor(
    private readonly deps: {
      roots: readonly string[];
      ingest: WatchIngest;
      logger: Logger;
      debounceMs: number;
      maxWaitMs: number;
      pollMs?: number;
    },
  ) {}

  async start(): Promise<void> {
    for (const root of this.deps.roots) {
      const sub = await watcher.subscribe(
        root,
        (err, events) => {
          if (err) {
            // An overflow or a backend error loses events: rescan the whole root to be sure.
            this.deps.logger.warn({ err: err.message, root }, 'watch: events lost; rescanning the root');
            this.note(root, [root + sep]);
            return;
          }
          this.note(
            root,
            events.map((e: Event) => e.path),
          );
        },
        { ignore: ['**/.*'] },
      );
      this.subs.push(sub);
    }
    this.deps.logger.info(
      { roots: this.deps.roots, debounce_ms: this.deps.debounceMs, max_wait_ms: this.deps.maxWaitMs },
      'watching ASSET_ROOTS for changes',
    );
  }

  private note(root: string, paths: string[]): void {
    if (this.stopped || paths.length === 0) return;
    let set = this.pending.get(root);
    if (!set) this.pending.set(root, (set = new Set()));
    // The folder of each change: a deleted folder's parent is rescanned, so its files are found gone.
    for (const p of paths) set.add(dirname(p));
    if (!this.firstAt) this.firstAt = Date.now();
    clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.deps.debounceMs, this.firstAt + this.deps.maxWaitMs - Date.now()));
    this.timer = setTimeout(() => void this.flush(), wait);
  }

  private async flush(): Promise<void> {
    if (this.running) return; // the running rescan flushes again when it ends
    const work = [...this.pending].map(([root, dirs]) => ({ root, folder: commonFolder(root, dirs) }));
    this.pending.clear();
    this.firstAt = 0;
    if (work.length === 0 || this.stopped) return;
    this.running = this.rescan(work).finally(() => {
      this.running = undefined;
      if (this.pending.size && !this.stopped) void this.flush();
    });
    await this.running;
  }

  private async rescan(work: { root: string; folder: string }[]): Promise<void> {
    for (const { folder } of work) {
      try {
        this.rescans++;
        const id = await this.deps.ingest.start(folder);
        this.deps.logger.info({ folder, ingest_id: id }, 'watch: change seen; rescanning');
        for (;;) {
          const state = await this.deps.ingest.state(id);
          if (state === 'completed' || state === 'failed' || this.stopped) break;
          await new Promise((r) => setTimeout(r, this.deps.pollMs ?? 500));
        }
      } catch (err) {
        this.deps.logger.warn({ folder, err: (err as Error).message }, 'watch: rescan failed; the next change retries');
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.all(this.subs.map((s) => s.unsubscribe()));
    await this.running?.catch(() => undefined);
  }
}
