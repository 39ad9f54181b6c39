import type { Logger } from 'pino';

/** One step of shutdown, run in registration order. */
export interface ShutdownStep {
  name: string;
  run: () => Promise<void> | void;
}

/**
 * Graceful shutdown on SIGTERM/SIGINT: readiness off, stop accepting, drain, close clients,
 * all within a deadline; past it the process exits 1 so an orchestrator never waits forever.
 */
export class GracefulShutdown {
  private readonly steps: ShutdownStep[] = [];
  private stopping: Promise<void> | undefined;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    // Wrappers (npm, tsx, an orchestrator's preStop plus SIGTERM) may deliver a signal twice; a
    // repeat must not fall through to Node's default handler and kill the drain half-way. The
    // deadline still bounds the shutdown.
    if (this.stopping) {
      this.logger.debug({ signal }, 'signal received again; shutdown already running');
      return;
    }
    this.logger.info({ signal }, 'shutdown requested');
    void this.shutdown(0);
  };

  constructor(
    private readonly logger: Logger,
    private readonly deadlineMs: number,
    private readonly exit: (code: number) => void = (code) => process.exit(code),
  ) {}

  /** Adds a step; steps run in the order they were added. */
  add(name: string, run: ShutdownStep['run']): this {
    this.steps.push({ name, run });
    return this;
  }

  /** Installs the SIGTERM and SIGINT handlers. */
  listen(): this {
    process.on('SIGTERM', this.onSignal);
    process.on('SIGINT', this.onSignal);
    return this;
  }

  /** True once shutdown has begun. */
  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** Runs every step once, then exits with `code` (or 1 if the deadline passes or a step fails). */
  shutdown(code = 0): Promise<void> {
    this.stopping ??= this.run(code);
    return this.stopping;
  }

  private async run(code: number): Promise<void> {
    const started = Date.now();
    let exitCode = code;
    const timer = setTimeout(() => {
      this.logger.error(
        { deadline_ms: this.deadlineMs },
        'shutdown deadline passed; exiting with work still in flight',
      );
      this.exit(1);
    }, this.deadlineMs);
    timer.unref();
    for (const step of this.steps) {
      try {
        await step.run();
        this.logger.debug({ step: step.name }, 'shutdown step done');
      } catch (err) {
        exitCode = 1;
        this.logger.error({ err, step: step.name }, 'shutdown step failed');
      }
    }
    clearTimeout(timer);
    this.logger.info({ took_ms: Date.now() - started, exit_code: exitCode }, 'shutdown complete');
    this.exit(exitCode);
  }
}
