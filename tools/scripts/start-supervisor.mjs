// Process supervisor for `npm start`: runs each service as its own process (its own process group,
// so Ctrl-C reaches only the start script, which then stops the services in order), merges their
// output into one stream with each line prefixed by the service name (pino JSON made readable),
// and reports a service that exits on its own with its exit code.
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

/** Supervises the stack's processes; `onUnexpectedExit(service, code, signal)` fires when one dies by itself. */
export class Supervisor {
  constructor({
    format = 'pretty',
    color = false,
    env = {},
    onUnexpectedExit = () => {},
    write = (s) => process.stdout.write(s),
  } = {}) {
    this.format = format;
    this.color = color;
    this.baseEnv = env;
    this.onUnexpectedExit = onUnexpectedExit;
    this.write = write;
    this.services = [];
    this.oneShots = new Set();
    this.width = 16;
  }

  /** Prints one line under a name (the start script itself uses `start`). */
  log(name, text) {
    const i = name === 'start' ? -1 : this.services.findIndex((s) => s.name === name);
    const c = i < 0 ? 1 : COLORS[i % COLORS.length];
    const prefix = this.color ? `\x1b[${c}m${name.padEnd(this.width)}│\x1b[0m ` : `${name.padEnd(this.width)}| `;
    for (const l of String(text).split('\n')) this.write(`${prefix}${l}\n`);
  }

  pipe(name, stream) {
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    rl.on('line', (line) => {
      if (this.format === 'json' && line.startsWith('{')) this.write(`${line}\n`);
      else this.log(name, prettyLine(line, this.color));
    });
  }

  /**
   * Starts a TypeScript entry point in one node process (`node --import tsx`, no wrapper process,
   * so the pid we hold is the service itself). Long-running services are supervised; `oneShot`
   * runs (tools) resolve with their exit code instead.
   */
  start(name, entry, { env = {}, args = [], oneShot = false, inherit = false } = {}) {
    const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...this.baseEnv, ...env },
      stdio: ['ignore', inherit ? 'inherit' : 'pipe', inherit ? 'inherit' : 'pipe'],
      detached: true,
    });
    const svc = { name, child, pid: child.pid, oneShot, stopping: false, exitCode: null, signal: null };
    svc.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        svc.exitCode = code;
        svc.signal = signal;
        resolve(code ?? (signal ? 128 : 1));
      });
      child.once('error', (err) => {
        this.log('start', `${name} could not be started: ${err.message}`);
        svc.exitCode = 127;
        resolve(127);
      });
    });
    if (!inherit) {
      this.pipe(name, child.stdout);
      this.pipe(name, child.stderr);
    }
    if (oneShot) {
      this.oneShots.add(svc);
      void svc.exited.then(() => this.oneShots.delete(svc));
    } else {
      this.services.push(svc);
      this.width = Math.max(this.width, name.length + 1);
      void svc.exited.then(() => {
        if (!svc.stopping) this.onUnexpectedExit(svc, svc.exitCode, svc.signal);
      });
    }
    return svc;
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
      if (svc.exitCode === null && svc.signal === null) {
        signalGroup(svc.pid, 'SIGTERM');
        const timer = setTimeout(() => {
          this.log('start', `${name} did not stop within ${graceMs / 1000} s; killing it`);
          signalGroup(svc.pid, 'SIGKILL');
        }, graceMs);
        await svc.exited;
        clearTimeout(timer);
      }
      // Anything the service left in its group (it should be nothing) goes too.
      signalGroup(svc.pid, 'SIGKILL');
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
