import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { METRICS } from './metrics.js';
import type { EvaluationResult } from './run-evaluation.js';

const f3 = (x: number) => x.toFixed(3);
const ms = (x: number) => `${x.toFixed(1)} ms`;

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)));
  return [line(head).join('  '), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => line(r).join('  '))];
}

/** The terminal summary: one row per model, the paired differences, then the slices. */
export function terminalReport(r: EvaluationResult): string {
  const out = [`${r.queries} queries, first ${r.settings.depth} hits per model`, ''];
  const head = ['model', ...METRICS, 'zero-result', 'p50', 'p95', 'errors'];
  out.push(
    ...table(
      head,
      Object.entries(r.models).map(([id, m]) => [
        id,
        ...METRICS.map((k) => `${f3(m[k])} [${f3(m.ci95[k][0])}, ${f3(m.ci95[k][1])}]`),
        `${(m.zero_result_rate * 100).toFixed(1)}%`,
        ms(m.latency_ms.p50),
        ms(m.latency_ms.p95),
        String(m.errors),
      ]),
    ),
  );
  for (const [pair, d] of Object.entries(r.difference)) {
    out.push('', `${pair} (${d.b} minus ${d.a}; paired bootstrap 95 % CI, sign-flip permutation p):`);
    out.push(
      ...table(
        ['metric', 'difference', 'ci95', 'p', 'verdict'],
        METRICS.map((k) => [
          k,
          (d[k].mean >= 0 ? '+' : '') + f3(d[k].mean),
          `[${f3(d[k].ci95[0])}, ${f3(d[k].ci95[1])}]`,
          d[k].p_value < 0.001 ? '<0.001' : f3(d[k].p_value),
          d[k].significant ? `${d[k].mean > 0 ? d.b : d.a} better` : 'no significant difference',
        ]),
      ),
    );
  }
  for (const [name, s] of Object.entries(r.slices)) {
    out.push('', `slice ${name} (${s.queries} queries):`);
    out.push(
      ...table(
        ['model', ...METRICS],
        Object.entries(s.models).map(([id, m]) => [id, ...METRICS.map((k) => f3(m[k]))]),
      ),
    );
  }
  return out.join('\n') + '\n';
}

const COLOURS = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2'];

/** Escapes text for SVG/XML. */
function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A grouped bar chart (one group per metric, one bar per model, 95 % interval whiskers) as SVG text.
 * Written by hand: SVG is a few elements here, and the tools have no charting dependency to reuse.
 */
export function chartSvg(r: EvaluationResult): string {
  const models = Object.keys(r.models);
  const [w, h, left, top, bottom] = [720, 360, 50, 40, 70];
  const plotH = h - top - bottom;
  const groupW = (w - left - 20) / METRICS.length;
  const barW = Math.min(40, (groupW - 20) / Math.max(1, models.length));
  const y = (v: number) => top + plotH * (1 - Math.max(0, Math.min(1, v)));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    `<text x="${w / 2}" y="20" text-anchor="middle" font-size="14">Retrieval quality per model (${r.queries} queries, 95 % CI)</text>`,
  ];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line x1="${left}" x2="${w - 20}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end">${t.toFixed(2)}</text>`);
  }
  METRICS.forEach((metric, g) => {
    const gx = left + g * groupW + (groupW - barW * models.length) / 2;
    models.forEach((id, i) => {
      const m = r.models[id]!;
      const x = gx + i * barW;
      const v = m[metric];
      const [lo, hi] = m.ci95[metric];
      const cx = x + barW / 2;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(y(0) - y(v)).toFixed(1)}" fill="${COLOURS[i % COLOURS.length]}"><title>${esc(id)} ${metric} ${f3(v)} [${f3(lo)}, ${f3(hi)}]</title></rect>`,
        `<line x1="${cx}" x2="${cx}" y1="${y(hi).toFixed(1)}" y2="${y(lo).toFixed(1)}" stroke="black"/>`,
        `<line x1="${cx - 4}" x2="${cx + 4}" y1="${y(hi).toFixed(1)}" y2="${y(hi).toFixed(1)}" stroke="black"/>`,
        `<line x1="${cx - 4}" x2="${cx + 4}" y1="${y(lo).toFixed(1)}" y2="${y(lo).toFixed(1)}" stroke="black"/>`,
      );
    });
    parts.push(`<text x="${left + g * groupW + groupW / 2}" y="${y(0) + 16}" text-anchor="middle">${metric}</text>`);
  });
  models.forEach((id, i) => {
    const x = left + i * 220;
    parts.push(
      `<rect x="${x}" y="${h - 28}" width="12" height="12" fill="${COLOURS[i % COLOURS.length]}"/>`,
      `<text x="${x + 18}" y="${h - 18}">${esc(id)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** The Markdown report: the verdict first, the tables, the chart, and how the figures were made. */
export function markdownReport(r: EvaluationResult, meta: { source: string; generatedAt: string }): string {
  const lines = [`# Model evaluation`, '', `${r.queries} queries from ${meta.source}, ${meta.generatedAt}.`, ''];
  for (const [pair, d] of Object.entries(r.difference)) {
    const n = d['ndcg@10'];
    lines.push(
      n.significant
        ? `**${n.mean > 0 ? d.b : d.a} is better** than ${n.mean > 0 ? d.a : d.b} on nDCG@10 (${pair}: ${n.mean >= 0 ? '+' : ''}${f3(n.mean)}, 95 % CI [${f3(n.ci95[0])}, ${f3(n.ci95[1])}], p = ${f3(n.p_value)}).`
        : `No significant nDCG@10 difference for ${pair} (${n.mean >= 0 ? '+' : ''}${f3(n.mean)}, 95 % CI [${f3(n.ci95[0])}, ${f3(n.ci95[1])}], p = ${f3(n.p_value)}).`,
      '',
    );
  }
  lines.push('![metrics per model](chart.svg)', '', '## Per model', '');
  lines.push(`| model | ${METRICS.join(' | ')} | zero-result | p50 | p95 |`);
  lines.push(`|---|${METRICS.map(() => '---:').join('|')}|---:|---:|---:|`);
  for (const [id, m] of Object.entries(r.models))
    lines.push(
      `| ${id} | ${METRICS.map((k) => `${f3(m[k])} [${f3(m.ci95[k][0])}, ${f3(m.ci95[k][1])}]`).join(' | ')} | ${(m.zero_result_rate * 100).toFixed(1)} % | ${ms(m.latency_ms.p50)} | ${ms(m.latency_ms.p95)} |`,
    );
  for (const [pair, d] of Object.entries(r.difference)) {
    lines.push('', `## ${pair}`, '', '| metric | difference | 95 % CI | p |', '|---|---:|---:|---:|');
    for (const k of METRICS)
      lines.push(`| ${k} | ${f3(d[k].mean)} | [${f3(d[k].ci95[0])}, ${f3(d[k].ci95[1])}] | ${f3(d[k].p_value)} |`);
  }
  for (const [name, s] of Object.entries(r.slices)) {
    lines.push('', `## Slice ${name} (${s.queries} queries)`, '', `| model | ${METRICS.join(' | ')} |`);
    lines.push(`|---|${METRICS.map(() => '---:').join('|')}|`);
    for (const [id, m] of Object.entries(s.models))
      lines.push(`| ${id} | ${METRICS.map((k) => f3(m[k])).join(' | ')} |`);
  }
  lines.push(
    '',
    '## Method',
    '',
    `Every query runs on every model through the gateway's text-search path (the model's embedder, then its collection, first ${r.settings.depth} hits). recall@k: share of the relevant assets in the first k; MRR: 1/rank of the first relevant hit; nDCG@10: gain 2^grade - 1, log2 discount. Intervals: percentile bootstrap over queries (${r.settings.bootstrap_iterations} resamples, seed ${r.settings.seed}); differences: paired bootstrap interval and a two-sided sign-flip permutation test (exact up to 16 differing queries).`,
    '',
  );
  return lines.join('\n');
}

/** Writes `report.md`, `chart.svg` and `results.json` into `dir` (created if missing). */
export async function writeReport(
  dir: string,
  r: EvaluationResult,
  meta: { source: string; generatedAt: string },
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files = [join(dir, 'report.md'), join(dir, 'chart.svg'), join(dir, 'results.json')];
  await writeFile(files[0]!, markdownReport(r, meta));
  await writeFile(files[1]!, chartSvg(r));
  await writeFile(files[2]!, `${JSON.stringify(r, null, 2)}\n`);
  return files;
}
