import { describe, expect, it } from 'vitest';
import type { CatalogueEntry } from '@image-search/asset-catalogue';
import { bootstrapCi, pairedDifference, percentile, queryMetrics } from './metrics.js';
import { judgmentsFromFolders, parseCocoCaptions, parseJudgmentsJsonl } from './judgments.js';
import { resolveJudgments } from './resolve-relevant.js';
import { chartSvg, markdownReport, terminalReport } from './report.js';
import type { EvaluationResult } from './run-evaluation.js';

describe('queryMetrics (hand-computed values)', () => {
  it('binary relevance: 3 relevant, hits at ranks 2 and 4', () => {
    const m = queryMetrics({ query: 'q', relevant: ['a', 'b', 'c'], grades: {} }, ['x', 'a', 'y', 'b', 'z']);
    expect(m['recall@1']).toBe(0);
    expect(m['recall@5']).toBeCloseTo(2 / 3, 12);
    expect(m['recall@10']).toBeCloseTo(2 / 3, 12);
    expect(m.mrr).toBe(0.5);
    // DCG = 1/log2(3) + 1/log2(5); ideal = 1 + 1/log2(3) + 1/log2(4)
    expect(m['ndcg@10']).toBeCloseTo((1 / Math.log2(3) + 1 / Math.log2(5)) / (1 + 1 / Math.log2(3) + 0.5), 12);
    expect(m['ndcg@10']).toBeCloseTo(0.498192, 5);
    expect(m.zero_result).toBe(0);
  });

  it('graded relevance uses gain 2^g - 1', () => {
    const m = queryMetrics({ query: 'q', relevant: ['a', 'b'], grades: { a: 2 } }, ['b', 'a']);
    // DCG = 1/1 + 3/log2(3); ideal = 3/1 + 1/log2(3)
    expect(m['ndcg@10']).toBeCloseTo((1 + 3 / Math.log2(3)) / (3 + 1 / Math.log2(3)), 12);
    expect(m.mrr).toBe(1);
  });

  it('only the first 10 hits count; an empty list is a zero-result answer', () => {
    const ranked = Array.from({ length: 12 }, (_, i) => `n${i}`);
    ranked[10] = 'a';
    const late = queryMetrics({ query: 'q', relevant: ['a'], grades: {} }, ranked);
    expect([late['recall@10'], late.mrr, late['ndcg@10']]).toEqual([0, 0, 0]);
    expect(queryMetrics({ query: 'q', relevant: ['a'], grades: {} }, []).zero_result).toBe(1);
  });
});

describe('statistics', () => {
  it('percentile interpolates between ranks', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([5], 95)).toBe(5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 95)).toBe(10.5);
  });

  it('bootstrap interval of a constant is that constant, and brackets the mean otherwise', () => {
    expect(bootstrapCi([0.5, 0.5, 0.5])).toEqual([0.5, 0.5]);
    const xs = Array.from({ length: 50 }, (_, i) => (i % 2 ? 1 : 0));
    const [lo, hi] = bootstrapCi(xs, { seed: 3 });
    expect(lo).toBeLessThan(0.5);
    expect(hi).toBeGreaterThan(0.5);
    expect(bootstrapCi(xs, { seed: 3 })).toEqual([lo, hi]);
  });

  it('the exact sign-flip test: 5 equal wins give p = 2/32, 6 give 2/64', () => {
    expect(pairedDifference([0, 0, 0, 0, 0], [1, 1, 1, 1, 1]).p_value).toBeCloseTo(2 / 32, 12);
    const six = pairedDifference([0, 0, 0, 0, 0, 0, 0.5], [1, 1, 1, 1, 1, 1, 0.5]);
    expect(six.p_value).toBeCloseTo(2 / 64, 12);
    expect(six.significant).toBe(true);
    expect(six.mean).toBeCloseTo(6 / 7, 12);
    expect(pairedDifference([1, 0], [1, 0])).toMatchObject({ mean: 0, p_value: 1, significant: false });
  });

  it('the random sign-flip test finds a large consistent difference and not noise', () => {
    const a = Array.from({ length: 40 }, (_, i) => (i % 3) / 3);
    expect(
      pairedDifference(
        a,
        a.map((x) => x + 0.2),
      ).p_value,
    ).toBeLessThan(0.01);
    const noise = a.map((x, i) => x + (i % 2 ? 0.1 : -0.1));
    expect(pairedDifference(a, noise).significant).toBe(false);
  });
});

describe('judgment inputs', () => {
  it('parses JSONL and names the line of a bad judgment', () => {
    const ok = parseJudgmentsJsonl(
      '{"query":"red","relevant":["photos/red.jpg"],"slice":"en"}\n\n{"query":"rot","relevant":["x"],"grades":{"x":2}}\n',
      'j.jsonl',
    );
    expect(ok).toHaveLength(2);
    expect(() => parseJudgmentsJsonl('{"query":"red","relevant":[]}', 'j.jsonl')).toThrow(
      /j\.jsonl line 1: relevant: must name at least one asset/,
    );
    expect(() => parseJudgmentsJsonl('{"query":"a","relevant":["x"]}\nnope', 'j.jsonl')).toThrow(/line 2: not JSON/);
    expect(() => parseJudgmentsJsonl('', 'j.jsonl')).toThrow(/no judgments/);
  });

  it('turns COCO captions into one query per caption', () => {
    const coco = JSON.stringify({
      images: [{ id: 1, file_name: 'a.jpg' }],
      annotations: [
        { image_id: 1, caption: 'a dog' },
        { image_id: 1, caption: 'a puppy' },
      ],
    });
    expect(parseCocoCaptions(coco, 'c.json', '/img')).toEqual([
      { query: 'a dog', relevant: ['/img/a.jpg'] },
      { query: 'a puppy', relevant: ['/img/a.jpg'] },
    ]);
    expect(() =>
      parseCocoCaptions(
        JSON.stringify({ images: [{ id: 1, file_name: 'a' }], annotations: [{ image_id: 2, caption: 'x' }] }),
        'c.json',
        '/',
      ),
    ).toThrow(/image_id 2, not in images/);
  });

  const entries: CatalogueEntry[] = [
    { assetId: 'a'.repeat(32), path: '/lib/photos/red-photo.jpg', contentHash: 'h', updatedAt: '' },
    { assetId: 'b'.repeat(32), path: '/lib/shapes/red-shapes.webp', contentHash: 'h', updatedAt: '' },
    { assetId: 'c'.repeat(32), path: '/other/photos/red-photo.jpg', contentHash: 'h', updatedAt: '' },
  ];

  it('resolves ids, absolute paths and root-relative paths; reports unresolved and ambiguous ones', () => {
    const { queries, report } = resolveJudgments(
      [
        { query: 'red', relevant: ['shapes/red-shapes.webp', 'a'.repeat(32), 'lib/photos/red-photo.jpg'] },
        { query: 'abs', relevant: ['/other/photos/red-photo.jpg'], grades: { '/other/photos/red-photo.jpg': 3 } },
        { query: 'amb', relevant: ['photos/red-photo.jpg', 'nope.jpg'] },
      ],
      entries,
    );
    expect(queries).toEqual([
      { query: 'red', relevant: ['b'.repeat(32), 'a'.repeat(32)], grades: {} },
      { query: 'abs', relevant: ['c'.repeat(32)], grades: { ['c'.repeat(32)]: 3 } },
    ]);
    expect(report).toEqual({
      unresolved: ['photos/red-photo.jpg', 'nope.jpg'],
      unresolvedCount: 2,
      ambiguous: ['photos/red-photo.jpg'],
      droppedQueries: ['amb'],
    });
  });

  it('folders give weak labels: one query per folder', () => {
    expect(judgmentsFromFolders(entries)).toEqual([
      { query: 'photos', relevant: ['a'.repeat(32), 'c'.repeat(32)] },
      { query: 'shapes', relevant: ['b'.repeat(32)] },
    ]);
  });
});

describe('reports', () => {
  const summary = (v: number) => ({
    'recall@1': v,
    'recall@5': v,
    'recall@10': v,
    mrr: v,
    'ndcg@10': v,
    zero_result_rate: 0,
    errors: 0,
    latency_ms: { p50: 3, p95: 5 },
    ci95: Object.fromEntries(
      ['recall@1', 'recall@5', 'recall@10', 'mrr', 'ndcg@10'].map((k) => [k, [v - 0.1, v + 0.1]]),
    ) as never,
  });
  const d = { mean: -0.5, ci95: [-0.6, -0.4] as [number, number], p_value: 0.001, significant: true };
  const r: EvaluationResult = {
    models: { good: summary(0.9), bad: summary(0.4) },
    difference: {
      'bad vs good': { a: 'good', b: 'bad', 'recall@1': d, 'recall@5': d, 'recall@10': d, mrr: d, 'ndcg@10': d },
    },
    queries: 10,
    slices: { en: { queries: 4, models: { good: summary(1) as never, bad: summary(0) as never } } },
    settings: { depth: 10, bootstrap_iterations: 2000, seed: 1 },
  };

  it('the terminal table and Markdown name the better model; the chart has a bar per model and metric', () => {
    expect(terminalReport(r)).toMatch(/bad vs good[\s\S]*good better/);
    expect(terminalReport(r)).toMatch(/slice en \(4 queries\)/);
    const md = markdownReport(r, { source: 'j.jsonl', generatedAt: 'now' });
    expect(md).toMatch(/\*\*good is better\*\* than bad on nDCG@10/);
    expect(md).toContain('![metrics per model](chart.svg)');
    const svg = chartSvg(r);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<title>/g)).toHaveLength(10);
  });
});
