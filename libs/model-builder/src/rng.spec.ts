import { describe, expect, it } from 'vitest';
import { Rng } from './rng.js';

describe('seeded weights', () => {
  it('are reproducible from (seed, name) and differ between names', () => {
    expect(Rng.for(1, 'a').normals(5, 1)).toEqual(Rng.for(1, 'a').normals(5, 1));
    expect(Rng.for(1, 'a').normals(5, 1)).not.toEqual(Rng.for(1, 'b').normals(5, 1));
    expect(Rng.for(1, 'a').normals(5, 1)).not.toEqual(Rng.for(2, 'a').normals(5, 1));
  });

  it('are normally distributed with the asked mean and std', () => {
    const x = Rng.for(7, 'w').normals(200_001, 0.5, 1);
    const mean = x.reduce((s, v) => s + v, 0) / x.length;
    const std = Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length);
    const within1 = x.filter((v) => Math.abs(v - 1) < 0.5).length / x.length;
    expect(mean).toBeCloseTo(1, 2);
    expect(std).toBeCloseTo(0.5, 2);
    expect(within1).toBeCloseTo(0.6827, 2);
  });
});
