import { AppError } from '@image-search/service-kit';
import type { InferenceLane, LaneRequest, LaneResult } from './inference-lane.js';

/** A model tower; each has its own inference thread and batcher. */
export type Tower = 'text' | 'image';

/** Where a tower's ONNX sessions are: in their worker thread, freed after idling, or on their way back. */
export type TowerState = 'loaded' | 'unloaded' | 'loading';

/** One tower's state as Info and the metrics report it. */
export interface TowerStatus {
  tower: Tower;
  state: TowerState;
  /** When the tower last finished a job (epoch ms); undefined if it has not run one. */
  lastUsedAt: number | undefined;
  /** Loads on demand after an idle unload (the start's load not counted). */
  reloads: number;
  unloads: number;
}

/** A tower's state change: `reload_failed` leaves it unloaded, and the next call tries again. */
export interface TowerEvent {
  tower: Tower;
  event: 'unloaded' | 'loading' | 'reloaded' | 'reload_failed';
  state: TowerState;
  /** How long the reload took (reloaded, reload_failed). */
  tookMs?: number;
  error?: AppError;
}

/** What a TowerSlot needs: how to start a fresh thread for its tower, and after how long idle to end it. */
export interface TowerSlotOptions {
  tower: Tower;
  /** Starts a new worker thread with this tower's sessions (the same options as the first load). */
  start: () => Promise<InferenceLane>;
  /** Unload after this long without a job; 0 = never. */
  idleMs: number;
  onEvent?: (e: TowerEvent) => void;
}

/**
 * One tower's inference thread, which may be ended after `idleMs` without jobs and started again on the
 * next job. Ending the thread (not only releasing the sessions) is what returns onnxruntime's native
 * memory: the thread's V8 heap and its allocations go with it (docs/benchmarks/memory.md). Jobs that
 * arrive while the tower is down wait for one shared load; a failed load fails them with UNAVAILABLE
 * and the next job tries again.
 */
export class TowerSlot {
  private lane: InferenceLane | undefined;
  private loading: Promise<InferenceLane> | undefined;
  /** An unloaded thread still releasing its sessions; a reload waits for it so two copies never overlap. */
  private unloading: Promise<void> | undefined;
  private busy = 0;
  private lastUsedAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private reloads = 0;
  private unloads = 0;

  constructor(
    private readonly opts: TowerSlotOptions,
    initial: InferenceLane,
  ) {
    this.lane = initial;
  }

  /** The tower's state now. */
  get state(): TowerState {
    return this.lane ? 'loaded' : this.loading ? 'loading' : 'unloaded';
  }

  /** The running thread, if the tower is loaded. */
  get current(): InferenceLane | undefined {
    return this.lane;
  }

  status(): TowerStatus {
    const { lastUsedAt, reloads, unloads } = this;
    return { tower: this.opts.tower, state: this.state, lastUsedAt, reloads, unloads };
  }

  /** Runs a job on the tower, loading it first if it was unloaded. */
  async submit(req: LaneRequest, transfer: ArrayBuffer[] = []): Promise<LaneResult> {
    if (this.closed) throw new AppError('UNAVAILABLE', 'the model is closed');
    this.busy++;
    clearTimeout(this.timer);
    try {
      const lane = this.lane ?? (await this.load());
      return await lane.submit(req, transfer);
    } finally {
      this.busy--;
      this.lastUsedAt = Date.now();
      this.arm();
    }
  }

  /** Ends the thread (after its queued jobs) and refuses further jobs; a load under way is awaited and ended too. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    await this.loading?.catch(() => undefined);
    await this.unloading;
    const lane = this.lane;
    this.lane = undefined;
    await lane?.close();
  }

  /** Idle clock: restarted whenever the tower falls idle; a job arriving first stops it. */
  private arm(): void {
    if (this.opts.idleMs <= 0 || this.closed || this.busy > 0 || !this.lane) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.unload(), this.opts.idleMs);
    // An idle clock must not keep a process alive that is otherwise done.
    this.timer.unref();
  }

  private unload(): void {
    const lane = this.lane;
    if (!lane || this.busy > 0 || this.closed) return;
    this.lane = undefined;
    this.unloads++;
    // Nobody awaits an unload: a failure to end the thread must not become an unhandled rejection.
    this.unloading = lane
      .close()
      .catch(() => undefined)
      .finally(() => (this.unloading = undefined));
    this.emit({ event: 'unloaded', state: 'unloaded' });
  }

  private load(): Promise<InferenceLane> {
    this.loading ??= this.doLoad().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async doLoad(): Promise<InferenceLane> {
    const started = performance.now();
    const tower = this.opts.tower;
    this.emit({ event: 'loading', state: 'loading' });
    try {
      await this.unloading;
      const lane = await this.opts.start();
      if (this.closed) {
        await lane.close();
        throw new AppError('UNAVAILABLE', 'the model was closed while the tower was loading');
      }
      this.lane = lane;
      this.reloads++;
      this.emit({ event: 'reloaded', state: 'loaded', tookMs: performance.now() - started });
      return lane;
    } catch (err) {
      const error = new AppError(
        'UNAVAILABLE',
        `the ${tower} tower could not be loaded again after its idle unload (MODEL_IDLE_UNLOAD_S): ${err instanceof Error ? err.message : String(err)}; the next call tries again`,
        { cause: err },
      );
      this.emit({ event: 'reload_failed', state: 'unloaded', tookMs: performance.now() - started, error });
      throw error;
    }
  }

  private emit(e: Omit<TowerEvent, 'tower'>): void {
    this.opts.onEvent?.({ tower: this.opts.tower, ...e });
  }
}
