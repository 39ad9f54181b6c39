import { describe, expect, it } from 'vitest';
import { clipCleanText, siglipCanonicalize } from './text-tokenizer.js';

describe('CLIP text cleaning (OpenAI basic_clean + whitespace_clean + lower)', () => {
  it('unescapes HTML entities twice, collapses whitespace, trims and lowercases', () => {
    expect(clipCleanText('  A &amp;amp; B\t\n C  ')).toBe('a & b c');
    expect(clipCleanText('&lt;b&gt;Bold&lt;/b&gt; caf&eacute; &#x27;x&#39;')).toBe("<b>bold</b> café 'x'");
    expect(clipCleanText('')).toBe('');
    expect(clipCleanText(' \t ')).toBe('');
  });

  it("uses Python's whitespace set, not JavaScript's", () => {
    expect(clipCleanText('a\x1cb\x85c\u3000d')).toBe('a b c d');
    expect(clipCleanText('a\uFEFFb')).toBe('a\uFEFFb');
  });
});

describe('SigLIP canonicalisation (big_vision / SiglipTokenizer)', () => {
  it('removes exactly string.punctuation, collapses whitespace, trims, lowercases', () => {
    expect(siglipCanonicalize('Wait... what?! (a cat) [on] {a} <mat>; #1 @home & 100% "fun" -- ok?')).toBe(
      'wait what a cat on a mat 1 home 100 fun ok',
    );
    expect(siglipCanonicalize('Crème brûlée, jalapeño & piñata')).toBe('crème brûlée jalapeño piñata');
    expect(siglipCanonicalize("back`tick \\ slash_under|bar~'q'")).toBe('backtick slashunderbarq');
    expect(siglipCanonicalize('  extra   spaces\tand a tab  ')).toBe('extra spaces and a tab');
  });

  it('keeps non-ASCII punctuation', () => {
    expect(siglipCanonicalize('«Hallo» — “quote”。')).toBe('«hallo» — “quote”。');
  });
});
