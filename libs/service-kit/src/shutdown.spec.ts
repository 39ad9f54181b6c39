import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { GracefulShutdown } from './shutdown.js';

const logger = createLogger('test', 'silent');

describe('GracefulShutdown', () => {
  it('runs steps in order once and exits 0', async () => {
    const order: string[] = [];
    let exitCode: number | undefined;
    const s = new GracefulShutdown(logger, 1000, (c) => (exitCode = c))
      .add('a', () => void order.push('a'))
      .add('b', async () => void order.push('b'));
    await Promise.all([s.shutdown(), s.shutdown()]);
    expect(order).toEqual(['a', 'b']);
    expect(exitCode).toBe(0);
  });

  it('exits 1 when a step fails or the deadline passes', async () => {
    const codes: number[] = [];
    await new GracefulShutdown(logger, 1000, (c) => codes.push(c))
      .add('bad', () => {
        throw new Error('x');
      })
      .shutdown();
    expect(codes).toEqual([1]);
    const late: number[] = [];
    void new GracefulShutdown(logger, 50, (c) => late.push(c))
      .add('slow', () => new Promise((r) => setTimeout(r, 300)))
      .shutdown();
    await new Promise((r) => setTimeout(r, 120));
    expect(late).toEqual([1]);
  });
});

describe('GracefulShutdown signals', () => {
  it('survives a repeated SIGTERM while draining and exits once', async () => {
    const codes: number[] = [];
    let release: () => void = () => {};
    const drained = new Promise<void>((r) => (release = r));
    const s = new GracefulShutdown(logger, 5000, (c) => codes.push(c)).add('drain', () => drained).listen();
    process.emit('SIGTERM', 'SIGTERM');
    process.emit('SIGTERM', 'SIGTERM');
    expect(s.isStopping).toBe(true);
    release();
    await s.shutdown();
    expect(codes).toEqual([0]);
    process.removeAllListeners('SIGTERM');
    process.removeAllListeners('SIGINT');
  });
});
