import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { withCorrelationId } from './correlation.js';
import { createLogger } from './logger.js';

describe('logger', () => {
  it('writes JSON with the correlation id and redacts secrets', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger('svc', 'info', sink);
    withCorrelationId('abc-123', () => log.info({ token: 'secret', headers: { authorization: 'Bearer x' } }, 'hello'));
    const line = JSON.parse(lines[0] ?? '{}');
    expect(line).toMatchObject({
      service: 'svc',
      correlation_id: 'abc-123',
      msg: 'hello',
      token: '[redacted]',
      headers: { authorization: '[redacted]' },
    });
  });

  it('refuses forged correlation ids', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger('svc', 'info', sink);
    withCorrelationId('bad\nid', () => log.info('x'));
    expect(JSON.parse(lines[0] ?? '{}').correlation_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
