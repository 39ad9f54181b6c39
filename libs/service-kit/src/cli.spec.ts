import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseCommandLine, runCli, UsageError } from './cli.js';
import { AppError } from './errors.js';

describe('runCli', () => {
  const out = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  afterEach(() => {
    out.mockClear();
    err.mockClear();
    process.exitCode = undefined;
  });

  it('exits with what main returns', async () => {
    await runCli('t', 'usage: t', () => Promise.resolve(3));
    expect(process.exitCode).toBe(3);
  });

  it('a bad option is a usage error: message and usage on stderr, exit 2', async () => {
    await runCli('t', 'usage: t', () => {
      parseCommandLine({ args: ['--nope'], options: { ok: { type: 'boolean' } } });
      return Promise.resolve(0);
    });
    expect(process.exitCode).toBe(2);
    expect(err.mock.calls[0]?.[0]).toMatch(/^t: Unknown option '--nope'.*\n\nusage: t$/s);
  });

  it('--help (an empty UsageError) prints the usage on stdout and exits 0', async () => {
    await runCli('t', 'usage: t', () => Promise.reject(new UsageError('')));
    expect(process.exitCode).toBe(0);
    expect(out).toHaveBeenCalledWith('usage: t');
  });

  it('any other error exits 1 naming the tool and the code', async () => {
    await runCli('t', 'usage: t', () => Promise.reject(new AppError('NOT_FOUND', 'no such model')));
    expect(process.exitCode).toBe(1);
    expect(err).toHaveBeenCalledWith('t failed: NOT_FOUND: no such model');
  });
});
