// Process supervisor for `npm start`: runs each service as its own process (its own process group,
// so Ctrl-C reaches only the start script, which then stops the services in order), merges their
// output into one stream with each line prefixed by the service name (pino JSON made readable),
// and, once the stack is up, restarts a service that crashes (exponential backoff, crash-loop limit).
// Written here rather than taken from pm2 or similar: the start script already owns spawning, log
// prefixing and ordered shutdown, and the restart rule is a few dozen lines.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ROOT } from './start-config.mjs';

const LEVELS = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLORS = [36, 35, 33, 32, 34, 96, 95];
const LEVEL_COLOR = { WARN: 33, ERROR: 31, FATAL: 31 };
const OMIT = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname']);

function compact(v) {
  if (v === null || typeof v !== 'object') return typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : String(v);
  const s = JSON.stringify(v);
  return s.length > 240 ? `${s.slice(0, 237)}...` : s;
}

/** One pino JSON line as `HH:MM:SS.mmm LEVEL message key=value ...`; other text unchanged. */
export function prettyLine(line, color = false) {
  if (!line.startsWith('{')) return line;
  let o;
  try {
    o = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof o !== 'object' || o === null || !('level' in o)) return line;
  const level = LEVELS[o.level] ?? String(o.level).toUpperCase();
  const time =
    typeof o.time === 'string'
      ? o.time.slice(11, 23)
      : typeof o.time === 'number'
        ? new Date(o.time).toISOString().slice(11, 23)
        : '';
  const err = o.err && typeof o.err === 'object' ? o.err : undefined;
  const extras = Object.entries(o)
    .filter(([k]) => !OMIT.has(k) && k !== 'err')
    .map(([k, v]) => `${k}=${compact(v)}`);
  if (err) extras.push(`err=${compact(err.message ?? err)}`);
  const lvl = color && LEVEL_COLOR[level] ? `\x1b[${LEVEL_COLOR[level]}m${level.padEnd(5)}\x1b[0m` : level.padEnd(5);
  let out = `${time} ${lvl} ${o.msg ?? ''}${extras.length ? `  ${extras.join(' ')}` : ''}`;
  if (err?.stack && (level === 'ERROR' || level === 'FATAL')) out += `\n${err.stack}`;
  return out;
}

/** How crashed services are restarted once the stack is up (start-config.mjs reads the START_RESTART_* settings). */
export const DEFAULT_RESTART_POLICY = {
  /** First delay; doubled for every crash within the window, with ±20 % jitter. */
  baseMs: 1000,
  maxMs: 30_000,
  /** This many crashes within `windowMs` is a crash loop: the service is stopped, not restarted. */
  maxCrashes: 5,
  windowMs: 60_000,
  /** Exit codes that restarting cannot fix (2: the service refused its configuration). */
  fatalCodes: [2],
};
const KEEP_LINES = 25;

const describeExit = (code, signal) =>
  signal
    ? `signal ${signal}${signal === 'SIGKILL' ? " (killed from outside: the kernel's out-of-memory killer, or kill -9)" : ''}`
    : `exit code ${code}`;

/**
 * Supervises the stack's processes. Until `supervise(policy)` is called (the start script does once
 * every service is up), a service that exits by itself fires `onUnexpectedExit(service, code, signal)`.
 * After it, a crashed service is restarted with exponential backoff while the others keep serving; a
 * crash loop (or a configuration error) stops only that service, printing its last log lines and what
 * to do, and fires `onGiveUp(service)`. `onStateChange(service)` fires on every transition of
 * `service.state`: starting, up, restarting, failed, stopped.
 */
export class Supervisor {
  constructor({
    format = 'pretty',
    color = false,
    env = {},
    onUnexpectedExit = () => {},
    onGiveUp = () => {},
    onStateChange = () => {},
    write = (s) => process.stdout.write(s),
  } = {}) {
    this.format = format;
    this.color = color;
    this.baseEnv = env;
    this.onUnexpectedExit = onUnexpectedExit;
    this.onGiveUp = onGiveUp;
    this.onStateChange = onStateChange;
    this.write = write;
    this.services = [];
    this.oneShots = new Set();
    this.width = 16;
    this.policy = undefined;
  }

  /** Prints one line under a name (the start script itself uses `start`). */
  log(name, text) {
    const i = name === 'start' ? -1 : this.services.findIndex((s) => s.name === name);
    const c = i < 0 ? 1 : COLORS[i % COLORS.length];
    const prefix = this.color ? `\x1b[${c}m${name.padEnd(this.width)}│\x1b[0m ` : `${name.padEnd(this.width)}| `;
    for (const l of String(text).split('\n')) this.write(`${prefix}${l}\n`);
  }

  pipe(svc, stream) {
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    rl.on('line', (line) => {
      const pretty = prettyLine(line, false);
      svc.lines.push(pretty);
      if (svc.lines.length > KEEP_LINES) svc.lines.shift();
      if (this.format === 'json' && line.startsWith('{')) this.write(`${line}\n`);
      else this.log(svc.name, this.color ? prettyLine(line, true) : pretty);
    });
  }

  /**
   * Starts a TypeScript entry point in one node process (`node --import tsx`, no wrapper process,
   * so the pid we hold is the service itself). Long-running services are supervised; `oneShot`
   * runs (tools) resolve with their exit code instead. `ready` (async, true once the service
   * answers) tells a restarted service's return to the state `up`.
   */
  start(name, entry, { env = {}, args = [], oneShot = false, inherit = false, ready } = {}) {
    const svc = {
      name,
      oneShot,
      stopping: false,
      state: 'starting',
      restarts: 0,
      crashes: [],
      lines: [],
      ready,
      spawn: () => this.spawn(svc, entry, { env, args, inherit }),
    };
    svc.spawn();
    if (oneShot) {
      this.oneShots.add(svc);
      void svc.exited.then(() => this.oneShots.delete(svc));
    } else {
      this.services.push(svc);
      this.width = Math.max(this.width, name.length + 1);
    }
    return svc;
  }

  spawn(svc, entry, { env, args, inherit }) {
    const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...this.baseEnv, ...env },
      stdio: ['ignore', inherit ? 'inherit' : 'pipe', inherit ? 'inherit' : 'pipe'],
      detached: true,
    });
    Object.assign(svc, { child, pid: child.pid, exitCode: null, signal: null, startedAt: Date.now() });
    svc.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        svc.exitCode = code;
        svc.signal = signal;
        resolve(code ?? (signal ? 128 : 1));
      });
      child.once('error', (err) => {
        this.log('start', `${svc.name} could not be started: ${err.message}`);
        svc.exitCode = 127;
        resolve(127);
      });
    });
    if (!inherit) {
      this.pipe(svc, child.stdout);
      this.pipe(svc, child.stderr);
    }
    if (!svc.oneShot) {
      void svc.exited.then(() => {
        if (svc.child !== child || svc.stopping) return;
        if (this.policy) this.crashed(svc);
        else this.onUnexpectedExit(svc, svc.exitCode, svc.signal);
      });
    }
  }

  /** From now on, crashed services are restarted under `policy` (see DEFAULT_RESTART_POLICY). */
  supervise(policy = {}) {
    this.policy = { ...DEFAULT_RESTART_POLICY, ...policy };
    for (const s of this.services) if (s.state === 'starting') s.state = 'up';
  }

  setState(svc, state) {
    if (svc.state === state) return;
    svc.state = state;
    this.onStateChange(svc);
  }

  /** One line with every service's state, for the start log. */
  stateLine() {
    return this.services
      .map((s) => {
        if (s.state === 'restarting') return `${s.name} restarting (crash ${s.crashes.length})`;
        if (s.state === 'up' || s.state === 'starting')
          return `${s.name} ${s.state} (pid ${s.pid}${s.restarts ? `, restarted ${s.restarts}×` : ''})`;
        return `${s.name} ${s.state}`;
      })
      .join(', ');
  }

  crashed(svc) {
    const p = this.policy;
    const now = Date.now();
    svc.crashes = svc.crashes.filter((t) => now - t < p.windowMs);
    svc.crashes.push(now);
    const how = describeExit(svc.exitCode, svc.signal);
    if (svc.exitCode !== null && p.fatalCodes.includes(svc.exitCode)) {
      this.giveUp(svc, `${svc.name} exited with ${how}: it refused its configuration, which a restart cannot fix`);
      return;
    }
    if (svc.crashes.length >= p.maxCrashes) {
      this.giveUp(
        svc,
        `${svc.name} crashed ${svc.crashes.length} times within ${Math.round(p.windowMs / 1000)} s (last: ${how}): a crash loop`,
      );
      return;
    }
    const exp = Math.min(p.maxMs, p.baseMs * 2 ** (svc.crashes.length - 1));
    const delay = Math.round(exp * (0.8 + 0.4 * Math.random()));
    this.log(
      'start',
      `${svc.name} exited unexpectedly with ${how}; restarting it in ${(delay / 1000).toFixed(1)} s (crash ${svc.crashes.length} of ${p.maxCrashes} allowed within ${Math.round(p.windowMs / 1000)} s); the other services keep serving`,
    );
    svc.downSince = now;
    this.setState(svc, 'restarting');
    svc.timer = setTimeout(() => this.restart(svc), delay);
  }

  restart(svc) {
    svc.timer = undefined;
    if (svc.stopping) return;
    svc.restarts++;
    svc.downSince ??= Date.now();
    this.setState(svc, 'starting');
    svc.spawn();
    const child = svc.child;
    const poll = async () => {
      while (svc.child === child && svc.exitCode === null && svc.signal === null && !svc.stopping) {
        if (!svc.ready || (await svc.ready().catch(() => false))) {
          if (svc.child !== child || svc.exitCode !== null || svc.stopping) return;
          this.log(
            'start',
            `${svc.name} is serving again (restart ${svc.restarts}, pid ${svc.pid}, down ${((Date.now() - svc.downSince) / 1000).toFixed(1)} s)`,
          );
          svc.downSince = undefined;
          this.setState(svc, 'up');
          return;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    void poll();
  }

  giveUp(svc, why) {
    this.log('start', `${why}. Not restarting it again; the other services keep running.`);
    if (svc.lines.length) {
      this.log('start', `${svc.name}'s last ${svc.lines.length} log lines:`);
      for (const l of svc.lines) this.log('start', `  ${l}`);
    }
    this.log(
      'start',
      `What to do: find the cause in those lines (out of memory: lower GPU_BATCH_SIZE or give the machine more memory; ` +
        `a port in use or a missing model: see docs/runbook.md), fix it, then restart ${svc.name} with ` +
        `\`kill -USR2 ${process.pid}\` (restarts every stopped service) or restart the stack.`,
    );
    this.setState(svc, 'failed');
    this.onGiveUp(svc);
  }

  /** Starts again every service stopped after a crash loop (SIGUSR2 to the start script). */
  restartFailed() {
    const failed = this.services.filter((s) => s.state === 'failed' && !s.stopping);
    for (const s of failed) {
      s.crashes = [];
      this.log('start', `restarting ${s.name} (it was stopped after crashing)`);
      this.restart(s);
    }
    return failed;
  }

  /** Runs a tool to completion; resolves with its exit code. */
  async run(name, entry, opts = {}) {
    const svc = this.start(name, entry, { ...opts, oneShot: true });
    return svc.exited;
  }

  /**
   * Stops services in the given order: SIGTERM to the service's process group, SIGKILL after
   * `graceMs`. Resolves with the services that did not exit cleanly (code ≠ 0).
   */
  async stop(names, graceMs = 20_000) {
    const unclean = [];
    for (const name of names) {
      const svc = this.services.find((s) => s.name === name);
      if (!svc) continue;
      svc.stopping = true;
      clearTimeout(svc.timer);
      if (svc.exitCode === null && svc.signal === null) {
        signalGroup(svc.pid, 'SIGTERM');
        const timer = setTimeout(() => {
          this.log('start', `${name} did not stop within ${graceMs / 1000} s; killing it`);
          signalGroup(svc.pid, 'SIGKILL');
        }, graceMs);
        await svc.exited;
        clearTimeout(timer);
      } else if (svc.state === 'restarting' || svc.state === 'failed') {
        // Already down (waiting for a restart, or stopped after a crash loop): nothing to stop.
        this.setState(svc, 'stopped');
        continue;
      }
      // Anything the service left in its group (it should be nothing) goes too.
      signalGroup(svc.pid, 'SIGKILL');
      this.setState(svc, 'stopped');
      if (svc.exitCode !== 0) unclean.push(svc);
    }
    return unclean;
  }

  /** Ends running tools (a fetch or a collection check in progress when Ctrl-C came). */
  stopOneShots() {
    for (const s of this.oneShots) signalGroup(s.pid, 'SIGTERM');
  }

  /** Kills every process group right away (last resort when the start script itself must exit now). */
  killAll() {
    for (const s of [...this.services, ...this.oneShots]) signalGroup(s.pid, 'SIGKILL');
  }
}

function signalGroup(pid, signal) {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}
