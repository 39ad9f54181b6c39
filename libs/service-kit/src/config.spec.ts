import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { env, parseConfig } from './config.js';
import { isAppError } from './errors.js';

const schema = z.object({
  PORT: env.port(8000),
  FLAG: env.bool(false),
  PCT: env.num(0, 0, 100),
  MODE: env.oneOf(['a', 'b'] as const, 'a'),
});

describe('parseConfig', () => {
  it('applies defaults and coerces values', () => {
    expect(parseConfig(schema, {})).toEqual({ PORT: 8000, FLAG: false, PCT: 0, MODE: 'a' });
    expect(parseConfig(schema, { PORT: '9000', FLAG: 'TRUE', PCT: '12.5', MODE: 'b' })).toEqual({
      PORT: 9000,
      FLAG: true,
      PCT: 12.5,
      MODE: 'b',
    });
  });

  it('fails fast naming every bad variable and the expected form', () => {
    try {
      parseConfig(schema, { PORT: 'eighty', FLAG: 'maybe', PCT: '150', MODE: 'c' });
      expect.unreachable();
    } catch (err) {
      expect(isAppError(err, 'INVALID_CONFIG')).toBe(true);
      const msg = (err as Error).message;
      expect(msg).toContain('PORT: expected an integer between 0 and 65535 (got "eighty")');
      expect(msg).toContain('FLAG: expected true or false');
      expect(msg).toContain('PCT: expected a number between 0 and 100');
      expect(msg).toContain('MODE: expected one of a, b');
    }
  });
});
