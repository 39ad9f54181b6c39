/**
 * Team-draft interleaving (Radlinski, Kurup and Joachims 2008): the team with fewer picks so far
 * (a coin toss on a tie) adds its highest-ranked result not yet in the list. Each result is credited
 * to the team that picked it, so a click says which model's ranking the user preferred.
 * Returns the interleaved ids and, per rank, the team ('a' or 'b') that contributed it.
 */
export function teamDraft<T>(
  a: readonly T[],
  b: readonly T[],
  limit: number,
  key: (x: T) => string,
  random: () => number = Math.random,
): { items: T[]; teams: string } {
  const items: T[] = [];
  let teams = '';
  const taken = new Set<string>();
  let [ia, ib, na, nb] = [0, 0, 0, 0];
  const next = (list: readonly T[], i: number) => {
    while (i < list.length && taken.has(key(list[i]!))) i++;
    return i;
  };
  while (items.length < limit) {
    ia = next(a, ia);
    ib = next(b, ib);
    const hasA = ia < a.length;
    const hasB = ib < b.length;
    if (!hasA && !hasB) break;
    const pickA = hasA && (!hasB || na < nb || (na === nb && random() < 0.5));
    const x = pickA ? a[ia++]! : b[ib++]!;
    taken.add(key(x));
    items.push(x);
    teams += pickA ? 'a' : 'b';
    if (pickA) na++;
    else nb++;
  }
  return { items, teams };
}
