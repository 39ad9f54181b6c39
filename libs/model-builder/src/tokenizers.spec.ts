import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { COLOUR_WORDS } from './colours.js';
import { clipTokenizer, siglipTokenizer, TINY_VOCAB_WORDS } from './tokenizers.js';

describe('generated CLIP tokenizer (byte-level BPE, read by @huggingface/tokenizers)', () => {
  const gen = clipTokenizer();
  const tok = new Tokenizer(gen.tokenizerJson, gen.tokenizerConfig);

  it('gives every vocabulary word one token between <|startoftext|> and <|endoftext|>', () => {
    for (const w of TINY_VOCAB_WORDS) {
      expect(tok.encode(w).ids, w).toEqual([gen.eosId - 1, gen.wordIds.get(w), gen.eosId]);
    }
  });

  it('lowercases, and puts <|endoftext|> at the highest id (CLIP pools at argmax)', () => {
    expect(tok.encode('RED Car').ids).toEqual(tok.encode('red car').ids);
    expect(gen.eosId).toBe(gen.vocabSize - 1);
    expect(Math.max(...tok.encode('a photo of a red car, 100% 🚗').ids)).toBe(gen.eosId);
  });

  it('encodes words outside the vocabulary in pieces that decode back', () => {
    const ids = tok.encode('zebra').ids;
    expect(ids.length).toBeGreaterThan(3);
    expect(tok.decode(ids, { skip_special_tokens: true }).trim()).toBe('zebra');
  });
});

describe('generated SigLIP tokenizer (Unigram + Metaspace)', () => {
  const gen = siglipTokenizer();
  const tok = new Tokenizer(gen.tokenizerJson, gen.tokenizerConfig);

  it('has <pad> 0, </s> 1 (eos and pad) and <unk> 2, and appends </s>', () => {
    expect([gen.padId, gen.eosId]).toEqual([1, 1]);
    expect(tok.encode('red').ids).toEqual([gen.wordIds.get('red'), 1]);
    const unknown = tok.encode('中').ids;
    expect(unknown).toContain(2);
    expect(unknown.at(-1)).toBe(1);
  });

  it('gives every colour word one piece', () => {
    for (const w of COLOUR_WORDS)
      expect(tok.encode(`a ${w} car`).ids, w).toEqual([
        gen.wordIds.get('a'),
        gen.wordIds.get(w),
        gen.wordIds.get('car'),
        1,
      ]);
  });
});
