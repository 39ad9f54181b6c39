import { open, readFile, rm, stat } from 'node:fs/promises';

/**
 * A cross-process advisory lock: a file created with O_EXCL holding the owner's pid. Used so that only one
 * of the processes sharing a data folder runs index maintenance at a time (two would redo the same work
 * and make each other's commits conflict). A lock whose owner is dead, or older than `staleMs`, is taken over.
 * Correctness never depends on it: Lance's commit protocol still arbitrates every write.
 */
export async function tryLock(path: string, staleMs: number): Promise<(() => Promise<void>) | undefined> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(JSON.stringify({ pid: process.pid, at: new Date().toISOString() }));
      await fh.close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!(await isStale(path, staleMs))) return undefined;
      await rm(path, { force: true });
    }
  }
  return undefined;
}

async function isStale(path: string, staleMs: number): Promise<boolean> {
  try {
    const [st, raw] = await Promise.all([stat(path), readFile(path, 'utf8')]);
    if (Date.now() - st.mtimeMs > staleMs) return true;
    const pid = (JSON.parse(raw) as { pid?: number }).pid;
    if (typeof pid !== 'number') return true;
    try {
      process.kill(pid, 0);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ESRCH';
    }
  } catch {
    // Half-written or vanished lock file: treat as free on the next attempt.
    return true;
  }
}
