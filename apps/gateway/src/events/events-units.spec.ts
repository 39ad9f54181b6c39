import { describe, expect, it } from 'vitest';
import { signTest } from './online-metrics.js';
import { SearchIds } from './search-id.js';
import { teamDraft } from './team-draft.js';

describe('search ids', () => {
  const ids = new SearchIds(Buffer.from('k'.repeat(32)), 3600_000);
  it('carry their claims and refuse forged, altered or old ids naming search_id', () => {
    const at = Date.now();
    const id = ids.mint({ model: 'clip-vit-b32-openai', bucket: 42, n: 10, at });
    expect(ids.parse(id)).toEqual({ model: 'clip-vit-b32-openai', bucket: 42, n: 10, at });
    const teams = { a: 'm-a', b: 'm-b', ranks: 'abba' };
    expect(ids.parse(ids.mint({ model: 'm-a', bucket: 1, n: 4, at, teams })).teams).toEqual(teams);
    const [body, sig] = id.split('.');
    const forged = Buffer.from(JSON.stringify(['siglip-vit-b16-webli', 42, 10, at])).toString('base64url');
    expect(() => ids.parse(`${forged}.${sig}`)).toThrow(/search_id: not a search id returned by a search response/);
    // The signature's first character changed (to one it is not: a random signature can begin with 'x').
    const altered = `${sig![0] === 'x' ? 'y' : 'x'}${sig!.slice(1)}`;
    expect(() => ids.parse(`${body}.${altered}`)).toThrow(/search_id/);
    expect(() => ids.parse('nonsense')).toThrow(/search_id/);
    expect(() => new SearchIds(Buffer.from('other'.repeat(8)), 3600_000).parse(id)).toThrow(/search_id/);
    expect(() => ids.parse(id, at + 2 * 3600_000)).toThrow(/search_id: the search is older than 1 h/);
  });
});

describe('team-draft interleaving', () => {
  const key = (x: string) => x;
  it('the team with fewer picks goes next; a tie is a coin toss; duplicates are skipped', () => {
    // Coin always a: a, then b (fewer picks), then tie -> a, then b...
    const r = teamDraft(['1', '2', '3'], ['2', '4', '5'], 6, key, () => 0.1);
    expect(r).toEqual({ items: ['1', '2', '3', '4', '5'], teams: 'ababb' });
    // Coin always b.
    expect(teamDraft(['1', '2'], ['3', '4'], 4, key, () => 0.9)).toEqual({
      items: ['3', '1', '4', '2'],
      teams: 'baba',
    });
    expect(teamDraft(['1'], [], 3, key).items).toEqual(['1']);
    expect(teamDraft(['1', '2', '3'], ['4', '5', '6'], 2, key, () => 0.1).items).toHaveLength(2);
  });
});

describe('sign test', () => {
  it('is the exact two-sided binomial p', () => {
    // 9 of 10: 2 * (C(10,9) + C(10,10)) / 2^10 = 22/1024
    expect(signTest(9, 10)).toBeCloseTo(22 / 1024, 12);
    expect(signTest(1, 10)).toBeCloseTo(22 / 1024, 12);
    expect(signTest(5, 10)).toBe(1);
    expect(signTest(0, 0)).toBe(1);
  });
});
