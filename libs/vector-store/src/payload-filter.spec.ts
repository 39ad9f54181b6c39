import { describe, expect, it } from 'vitest';
import { checkFilter, toLanceSql, toQdrantFilter, canonicalDate } from './payload-filter.js';

describe('payload filter translation', () => {
  it('translates to a SQL predicate with quoted values and whitelisted columns', () => {
    const f = checkFilter({
      must: [
        { key: 'category', match: { value: "o'hare" } },
        { key: 'width', range: { gte: 10, lt: 20 } },
        { key: 'format', match: { any: ['jpeg', 'png'] } },
      ],
      must_not: [{ key: 'date_taken', range: { lt: '2024-01-01T02:00:00+02:00' } }],
    });
    expect(toLanceSql(f)).toBe(
      "(category IS NOT NULL AND category = 'o''hare') AND (width IS NOT NULL AND (width >= 10 AND width < 20)) AND (format IS NOT NULL AND format IN ('jpeg', 'png')) AND (date_taken IS NULL OR NOT ((date_taken < '2024-01-01T00:00:00.000Z')))",
    );
    expect(toQdrantFilter(f)).toEqual({
      must: [
        { key: 'category', match: { value: "o'hare" } },
        { key: 'width', range: { gte: 10, lt: 20 } },
        { key: 'format', match: { any: ['jpeg', 'png'] } },
      ],
      must_not: [{ key: 'date_taken', range: { lt: '2024-01-01T00:00:00.000Z' } }],
    });
  });

  it('treats an empty filter as no filter', () => {
    expect(toLanceSql(checkFilter({}))).toBeUndefined();
    expect(toLanceSql(checkFilter({ must: [] }))).toBeUndefined();
    expect(toLanceSql(checkFilter(undefined))).toBeUndefined();
  });

  it('rejects malformed filters naming the problem', () => {
    const bad = (f: unknown) => () => checkFilter(f as never);
    expect(bad([])).toThrow(/expected an object/);
    expect(bad({ must: {} })).toThrow(/'must' must be an array/);
    expect(bad({ must: [null] })).toThrow(/must\[0\] must be an object/);
    expect(bad({ must: [{ key: 'width', match: { value: 1 }, extra: 1 }] })).toThrow(/unknown field\(s\) 'extra'/);
    expect(bad({ must: [{ key: 'category', match: { value: 'a\u0000b' } }] })).toThrow(/NUL/);
    expect(bad({ must: [{ key: 'width', range: {} }] })).toThrow(/has no bounds/);
    expect(bad({ must: [{ key: 'width', range: { between: [1, 2] } }] })).toThrow(/unknown bound\(s\) 'between'/);
    expect(bad({ must: [{ key: 'date_taken', match: { value: '2024-01-01' } }] })).toThrow(/use 'range'/);
    expect(bad({ must: [{ key: '__proto__', match: { value: 'x' } }] })).toThrow(/not filterable/);
  });

  it('canonicalises ISO dates and refuses other text', () => {
    expect(canonicalDate('2024-05-01')).toBe('2024-05-01T00:00:00.000Z');
    expect(canonicalDate('2024-05-01T12:00:00+02:00')).toBe('2024-05-01T10:00:00.000Z');
    expect(canonicalDate('May 1 2024')).toBeUndefined();
    expect(canonicalDate(20240501)).toBeUndefined();
  });
});
