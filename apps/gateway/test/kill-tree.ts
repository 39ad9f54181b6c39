import { execFileSync } from 'node:child_process';
import type { TestProcess } from '@image-search/testing';

/**
 * SIGKILLs a process started with startTsProcess AND its node child: the tsx CLI relays SIGTERM
 * but cannot relay SIGKILL, so killing only the tsx parent would leave the app running as an orphan.
 */
export async function killTree(proc: TestProcess): Promise<void> {
  const pid = proc.child.pid;
  if (pid !== undefined) {
    let children: number[] = [];
    try {
      children = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
    } catch {
      /* no children */
    }
    for (const c of children) {
      try {
        process.kill(c, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  await proc.stop('SIGKILL');
}
