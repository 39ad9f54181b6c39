import cliProgress from 'cli-progress';

/** Human-readable bytes (binary units). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Math.max(0, n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** Seconds as `1h02m`, `3m05s` or `42s`. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--';
  const t = Math.round(s);
  if (t >= 3600) return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
  if (t >= 60) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${t}s`;
}

/** Download progress: done/total bytes, rate (over the last seconds) and ETA. */
export interface ProgressReporter {
  /** Adds to the total (a file whose size becomes known). */
  addTotal(bytes: number): void;
  /** Adds done bytes (negative when a restart discards some). */
  add(bytes: number): void;
  /** A line about the current file. */
  file(label: string): void;
  stop(): void;
}

/**
 * A progress bar on a terminal (cli-progress), or a plain line every few seconds elsewhere
 * (CI logs, Kubernetes init containers), so that long downloads always show they are alive.
 */
export function createProgress(
  opts: { stream?: NodeJS.WriteStream; intervalMs?: number; now?: () => number } = {},
): ProgressReporter {
  const stream = opts.stream ?? process.stderr;
  const now = opts.now ?? Date.now;
  const started = now();
  let total = 0;
  let done = 0;
  let label = '';
  const samples: { t: number; done: number }[] = [{ t: started, done: 0 }];
  const rate = () => {
    const t = now();
    samples.push({ t, done });
    while (samples.length > 2 && t - samples[0]!.t > 5000) samples.shift();
    const first = samples[0]!;
    const dt = (t - first.t) / 1000;
    return dt > 0 ? Math.max(0, (done - first.done) / dt) : 0;
  };
  const payload = () => {
    const r = rate();
    return {
      done: formatBytes(done),
      size: formatBytes(total),
      rate: `${formatBytes(r)}/s`,
      eta: r > 0 && total > done ? formatDuration((total - done) / r) : done >= total && total > 0 ? '0s' : '--',
      label,
    };
  };
  const line = () => {
    const p = payload();
    const pct = total > 0 ? ` (${Math.floor((done / total) * 100)}%)` : '';
    return `fetch-model: ${p.done} / ${p.size}${pct}  ${p.rate}  ETA ${p.eta}  ${p.label}`;
  };

  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: '{bar} {percentage}% | {done} / {size} | {rate} | ETA {eta} | {label}',
        hideCursor: true,
        stream,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(1, 0, payload());
    return {
      addTotal: (b) => {
        total += b;
        bar.setTotal(Math.max(1, total));
      },
      add: (b) => {
        done += b;
        bar.update(done, payload());
      },
      file: (l) => {
        label = l;
        bar.update(done, payload());
      },
      stop: () => {
        bar.update(done, payload());
        bar.stop();
      },
    };
  }
  const timer = setInterval(() => stream.write(`${line()}\n`), opts.intervalMs ?? 5000);
  timer.unref();
  return {
    addTotal: (b) => void (total += b),
    add: (b) => void (done += b),
    file: (l) => {
      label = l;
    },
    stop: () => {
      clearInterval(timer);
      stream.write(`${line()}\n`);
    },
  };
}
