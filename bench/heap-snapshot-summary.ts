// Prints what a V8 heap snapshot (from the soak's --heap-snapshots, i.e. node --heapsnapshot-signal) holds: the
// live heap (a snapshot starts with a full GC, so this is what survives, unlike heapUsed) by node type and the
// object kinds with the most self size. Retained sizes (which object keeps the rest alive) need a dominator tree:
// `npx memlab analyze object-size --snapshot FILE`, and `npx memlab analyze unbound-collection --snapshot-dir DIR`
// for collections that grow from one snapshot to the next.
//   npx tsx bench/heap-snapshot-summary.ts tmp/soak-heap/minute-3.heapsnapshot tmp/soak-heap/minute-9.heapsnapshot [--top 12]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}
const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '12' } },
  allowPositionals: true,
});
const mib = (b: number) => (b / 2 ** 20).toFixed(1);
const largest = (m: Map<string, number>, n: number) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${k} ${mib(v)}`)
    .join(', ');
for (const file of positionals) {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const [width, size, type, name] = [
    fields.length,
    fields.indexOf('self_size'),
    fields.indexOf('type'),
    fields.indexOf('name'),
  ];
  let total = 0;
  const byType = new Map<string, number>();
  const byObject = new Map<string, number>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const bytes = s.nodes[i + size]!;
    const t = types[s.nodes[i + type]!]!;
    total += bytes;
    byType.set(t, (byType.get(t) ?? 0) + bytes);
    if (t === 'object') {
      const n = s.strings[s.nodes[i + name]!]!;
      byObject.set(n, (byObject.get(n) ?? 0) + bytes);
    }
  }
  console.log(`${file}: live heap ${mib(total)} MiB`);
  console.log(`  by type (MiB): ${largest(byType, Number(values.top))}`);
  console.log(`  objects by constructor (MiB): ${largest(byObject, Number(values.top))}`);
}
