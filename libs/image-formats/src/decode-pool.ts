import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isItemErrorReason, ItemFailure } from './item-errors.js';

/** Options of a decode pool. */
export interface DecodePoolOptions {
  /** The child's entry module (it calls `serveDecodeTasks`). */
  entry: URL;
  /** Child processes, each decoding one image at a time. */
  size: number;
  /** Per-image time budget (MAX_DECODE_MS); a child over it is killed and replaced. */
  timeoutMs: number;
  /** Sent to each child once at start (the preprocessing spec, limits…); structured-clone data. */
  init: unknown;
  /** Told whenever a child is killed or died and a new one is started. */
  onReplace?: (why: 'timeout' | 'exit', detail: string) => void;
}

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; reason?: string; message: string };
type Task = { payload: unknown; resolve: (v: unknown) => void; reject: (e: Error) => void };

interface Child {
  proc: ChildProcess;
  ready: Promise<void>;
  task?: { id: number; t: Task; timer: NodeJS.Timeout };
}

/**
 * Decoding in child processes, one image at a time each, with a time budget that can really
 * stop a decode. A worker thread cannot: libvips decodes on the process-wide libuv pool, which
 * terminating a thread leaves running (a many-scan progressive JPEG pins a thread for tens of
 * seconds). A child over budget is SIGKILLed, its image fails alone with DECODE_TIMEOUT, and a new
 * child takes its place. One decode per process also makes libvips' process-wide error buffer
 * hold only that image's text.
 */
export class DecodePool {
  private readonly idle: Child[] = [];
  private readonly all = new Set<Child>();
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;
  private startFailures = 0;

  constructor(private readonly o: DecodePoolOptions) {
    for (let i = 0; i < Math.max(1, o.size); i++) this.spawn();
  }

  /** Resolves once every child has loaded its decoder (for start-up and benchmarks). */
  async ready(): Promise<void> {
    await Promise.all([...this.all].map((c) => c.ready));
  }

  /** Runs one task; rejects with an ItemFailure for bad input or DECODE_TIMEOUT. */
  run<T>(payload: unknown): Promise<T> {
    if (this.closed) return Promise.reject(new Error('decode pool closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ payload, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  /** Kills every child; pending tasks fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.queue.splice(0)) t.reject(new Error('decode pool closed'));
    await Promise.all(
      [...this.all].map(
        (c) =>
          new Promise<void>((res) => {
            if (c.proc.exitCode !== null || c.proc.signalCode !== null) return res();
            c.proc.once('exit', () => res());
            c.proc.kill('SIGKILL');
          }),
      ),
    );
  }

  private spawn(): void {
    const proc = fork(fileURLToPath(this.o.entry), [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Never inherit the parent's inspector/loader flags: each child is a plain node.
      execArgv: [],
    });
    const child: Child = {
      proc,
      ready: new Promise<void>((resolve, reject) => {
        const onMsg = (m: { type?: string }) => {
          if (m?.type !== 'ready') return;
          proc.off('message', onMsg);
          resolve();
        };
        proc.on('message', onMsg);
        proc.once('exit', (code, signal) => reject(new Error(`decode worker exited at start (${signal ?? code})`)));
      }),
    };
    child.ready.then(
      () => {
        this.startFailures = 0;
        if (this.closed) return;
        this.idle.push(child);
        this.pump();
      },
      (err: Error) => {
        // A worker that cannot start would be restarted in a tight loop: back off, and fail the
        // waiting images instead of holding them until their callers' deadlines.
        this.startFailures++;
        if (this.startFailures >= 3) for (const t of this.queue.splice(0)) t.reject(err);
      },
    );
    proc.on('message', (m: Reply | { type: string }) => {
      if ('id' in m) this.onReply(child, m);
    });
    proc.on('exit', (code, signal) => this.onExit(child, `${signal ?? code}`));
    this.all.add(child);
    proc.send({ type: 'init', init: this.o.init });
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const child = this.idle.pop()!;
      const t = this.queue.shift()!;
      const id = this.nextId++;
      const timer = setTimeout(() => this.timeout(child), this.o.timeoutMs);
      child.task = { id, t, timer };
      child.proc.send({ id, payload: t.payload });
    }
  }

  private onReply(child: Child, m: Reply): void {
    const task = child.task;
    if (!task || task.id !== m.id) return;
    clearTimeout(task.timer);
    child.task = undefined;
    this.idle.push(child);
    if (m.ok) task.t.resolve(m.value);
    else
      task.t.reject(
        m.reason && isItemErrorReason(m.reason) ? ItemFailure.fromWire(m.reason, m.message) : new Error(m.message),
      );
    this.pump();
  }

  private timeout(child: Child): void {
    const task = child.task;
    if (!task) return;
    child.task = undefined;
    task.t.reject(new ItemFailure('DECODE_TIMEOUT', `over ${this.o.timeoutMs} ms (MAX_DECODE_MS)`));
    this.o.onReplace?.('timeout', `a decode ran over ${this.o.timeoutMs} ms`);
    child.proc.kill('SIGKILL');
  }

  private onExit(child: Child, how: string): void {
    this.all.delete(child);
    const i = this.idle.indexOf(child);
    if (i >= 0) this.idle.splice(i, 1);
    const task = child.task;
    if (task) {
      clearTimeout(task.timer);
      child.task = undefined;
      // The decoder died on this input (a crash or out of memory): the image fails, the service goes on.
      task.t.reject(new ItemFailure('CORRUPT_IMAGE', 'the decoder stopped on this image'));
      this.o.onReplace?.('exit', `decode worker exited (${how}) during a decode`);
    }
    if (this.closed) return;
    if (this.startFailures > 0)
      setTimeout(() => !this.closed && this.spawn(), Math.min(5000, 250 * 2 ** this.startFailures)).unref();
    else this.spawn();
  }
}
