// Finds a Redis for tests and the local stack: REDIS_URL if it answers, otherwise a private
// redis-server on a free port when the binary is installed, otherwise a clear error. Never hangs.
import { spawn, spawnSync } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function ping(url, timeoutMs = 1500) {
  return new Promise((resolve) => {
    let u;
    try {
      u = new URL(url);
    } catch {
      resolve(false);
      return;
    }
    const sock = createConnection({ host: u.hostname || '127.0.0.1', port: Number(u.port || 6379) });
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => {
      if (u.password)
        sock.write(`AUTH ${decodeURIComponent(u.username || 'default')} ${decodeURIComponent(u.password)}\r\n`);
      sock.write('PING\r\n');
    });
    sock.on('data', (d) => done(d.toString().includes('PONG')));
  });
}

/** A free TCP port on loopback (the OS picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// A private Redis left running by a start script that was killed (SIGKILL reaches only the script)
// would share the AOF folder with the new one: stop it first.
async function stopLeftover(pidFile, log) {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  let cmd = '';
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!cmd.includes('redis-server')) return;
  log(`stopping the private redis-server (pid ${pid}) left running by an earlier npm start`);
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 100));
}

/**
 * Returns { url, stop, private, dir } for a reachable Redis. With `persistDir`, a private Redis keeps
 * its data there with AOF (appendonly yes, fsync every second), so a stack restart, or a Redis killed
 * mid-run, keeps re-embedding runs, ingest progress and API keys; without it (tests) it keeps nothing.
 */
export async function ensureRedis(preferredUrl, log = console.log, { persistDir } = {}) {
  const url = preferredUrl || 'redis://127.0.0.1:6379';
  if (await ping(url)) return { url, stop: async () => {}, private: false };
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const bin = which.stdout.trim();
  if (!bin) {
    throw new Error(
      `Redis is not reachable at ${url} and no redis-server binary is installed.\n` +
        `Install one (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL to a running Redis.`,
    );
  }
  const port = await freePort();
  let dir;
  let persistence;
  if (persistDir) {
    mkdirSync(persistDir, { recursive: true, mode: 0o700 });
    await stopLeftover(join(persistDir, 'redis.pid'), log);
    dir = persistDir;
    // AOF for durability (at most a second of writes lost on a crash) plus the default RDB snapshots,
    // which make a restart fast. The folder is the stack's own, so a DATA_DIR carries its runs along.
    persistence = ['--appendonly', 'yes', '--appendfsync', 'everysec'];
  } else {
    dir = mkdtempSync(join(tmpdir(), 'redis-'));
    persistence = ['--save', '', '--appendonly', 'no'];
  }
  const args = ['--port', String(port), '--bind', '127.0.0.1', ...persistence, '--dir', dir];
  let stderr = '';
  const launch = () => {
    // Its own process group: a terminal's Ctrl-C reaches the start script, which stops Redis last,
    // after the services have drained (a leftover after a SIGKILLed script is stopped at next start).
    const c = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: Boolean(persistDir) });
    stderr = '';
    c.stderr.on('data', (d) => (stderr += d.toString()));
    if (persistDir) writeFileSync(join(persistDir, 'redis.pid'), `${c.pid}\n`);
    return c;
  };
  let child = launch();
  const privUrl = `redis://127.0.0.1:${port}`;
  // Loading a large AOF takes a while; Redis answers PING with LOADING until then.
  const deadline = Date.now() + (persistDir ? 120_000 : 10_000);
  while (!(await ping(privUrl, 500))) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`could not start a private redis-server on port ${port}${stderr ? `: ${stderr.trim()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  log(
    `Redis not reachable at ${url}; started a private redis-server at ${privUrl}${persistDir ? ` (AOF persistence in ${persistDir})` : ''}`,
  );
  let stopping = false;
  let timer;
  const crashes = [];
  // The stack's own Redis heals like its services: restarted on the same port (the services'
  // clients reconnect to it) from its AOF, with backoff; a crash loop is reported and left stopped.
  const watch = (c) =>
    c.once('exit', (code, signal) => {
      if (stopping || !persistDir) return;
      const now = Date.now();
      while (crashes.length && now - crashes[0] > 60_000) crashes.shift();
      crashes.push(now);
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      if (crashes.length >= 5) {
        log(
          `the private redis-server crashed ${crashes.length} times within 60 s (last: ${how}); not restarting it. Its last words: ${stderr.trim().split('\n').slice(-5).join(' | ') || '(none)'}. Fix the cause (disk full? memory?) and restart the stack.`,
        );
        return;
      }
      const delay = Math.min(30_000, 1000 * 2 ** (crashes.length - 1));
      log(
        `the private redis-server exited unexpectedly with ${how}; restarting it on port ${port} in ${delay / 1000} s (its data is in the AOF in ${persistDir})`,
      );
      timer = setTimeout(() => {
        if (stopping) return;
        child = launch();
        watch(child);
        void (async () => {
          while (!stopping && child.exitCode === null && !(await ping(privUrl, 500)))
            await new Promise((r) => setTimeout(r, 200));
          if (!stopping && child.exitCode === null) log(`the private redis-server is serving again at ${privUrl}`);
        })();
      }, delay);
    });
  watch(child);
  return {
    url: privUrl,
    private: true,
    dir: persistDir,
    get pid() {
      return child.pid;
    },
    stop: async () => {
      stopping = true;
      clearTimeout(timer);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', r)));
    },
  };
}
