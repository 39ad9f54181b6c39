import { describe, expect, it } from 'vitest';
import { pointIdFor } from './point-id.js';

describe('point ids', () => {
  it('maps an asset id to the same UUID every time, distinct per asset', () => {
    const id = pointIdFor('0123456789abcdef0123456789abcdef');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(pointIdFor('0123456789abcdef0123456789abcdef')).toBe(id);
    expect(pointIdFor('0123456789abcdef0123456789abcdee')).not.toBe(id);
    // Pinned: changing the mapping would orphan every stored point.
    expect(pointIdFor('a')).toBe('ca978112-ca1b-8dca-bac2-31b39a23dc4d');
  });
});
