import { COLOUR_ALIASES, COLOUR_WORDS } from './colours.js';

/**
 * Small tokenizers generated in code as real `tokenizer.json` files (the Hugging Face format read by
 * @huggingface/tokenizers, transformers.js and the Rust library). Only the vocabularies are small;
 * the pipelines (normalizer, pre-tokenizer, model type, post-processor) are those of the real CLIP
 * and SigLIP tokenizers. Generating merges needs a tiny BPE simulation here; tokenizing at run time
 * is the libraries' job.
 */

/** Words given whole-word tokens (besides the colour words), so typical queries tokenize short. */
const COMMON_WORDS = [
  'a',
  'an',
  'the',
  'of',
  'and',
  'in',
  'on',
  'with',
  'photo',
  'picture',
  'image',
  'cat',
  'dog',
  'car',
  'sky',
  'tree',
  'house',
  'flower',
  'apple',
  'ball',
  'shirt',
  'light',
  'dark',
  'bright',
  'beach',
  'sunset',
  'person',
  'people',
];

/** Every word that gets a single token, colour words first. */
export const TINY_VOCAB_WORDS: readonly string[] = [...COLOUR_WORDS, ...Object.keys(COLOUR_ALIASES), ...COMMON_WORDS];

/** GPT-2 / CLIP byte-to-unicode table, in CLIP's vocabulary order. */
export function bytesToUnicode(): Map<number, string> {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  return new Map(bs.map((b, i) => [b, String.fromCodePoint(cs[i]!)]));
}

/** The generated tokenizer files plus the ids model builders need. */
export interface GeneratedTokenizer {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  specialTokensMap?: Record<string, unknown>;
  vocabSize: number;
  /** Token id of each whole-word token. */
  wordIds: Map<string, number>;
  /** Ids that carry no content (specials, padding). */
  specialIds: number[];
  padId: number;
  eosId: number;
}

/** Applies BPE merges by rank, lowest first (the BPE simulation that generates merges). */
export function applyMerges(word: string[], ranks: Map<string, number>): string[] {
  const parts = [...word];
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < parts.length; i++) {
      const r = ranks.get(`${parts[i]} ${parts[i + 1]}`);
      if (r !== undefined && r < bestRank) {
        bestRank = r;
        best = i;
      }
    }
    if (best < 0) return parts;
    parts.splice(best, 2, parts[best]! + parts[best + 1]!);
  }
}

export const CLIP_BOS = '<|startoftext|>';
export const CLIP_EOS = '<|endoftext|>';

/**
 * CLIP-shaped byte-level BPE: 256 byte symbols, the same with `</w>`, merges that build each of
 * `TINY_VOCAB_WORDS` into one token, then `<|startoftext|>` and `<|endoftext|>` (the highest id,
 * as in CLIP, where the text tower pools at argmax(input_ids)).
 */
export function clipTokenizer(contextLength = 77): GeneratedTokenizer {
  const b2u = bytesToUnicode();
  const vocab = new Map<string, number>();
  for (const ch of b2u.values()) vocab.set(ch, vocab.size);
  for (const ch of b2u.values()) vocab.set(`${ch}</w>`, vocab.size);
  const merges: [string, string][] = [];
  const ranks = new Map<string, number>();
  for (const word of TINY_VOCAB_WORDS) {
    const chars = [...Buffer.from(word, 'utf8')].map((b) => b2u.get(b)!);
    chars[chars.length - 1] += '</w>';
    let parts = applyMerges(chars, ranks);
    while (parts.length > 1) {
      const [a, b] = parts as [string, string];
      ranks.set(`${a} ${b}`, merges.length);
      merges.push([a, b]);
      if (!vocab.has(a + b)) vocab.set(a + b, vocab.size);
      parts = [a + b, ...parts.slice(2)];
    }
  }
  const bos = vocab.size;
  vocab.set(CLIP_BOS, bos);
  const eos = vocab.size;
  vocab.set(CLIP_EOS, eos);
  const wordIds = new Map(TINY_VOCAB_WORDS.map((w) => [w, vocab.get(`${w}</w>`)!]));
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      { id: bos, content: CLIP_BOS, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true },
      {
        id: eos,
        content: CLIP_EOS,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
    ],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'NFC' },
        { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
        { type: 'Lowercase' },
      ],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: {
            Regex:
              "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
          },
          behavior: 'Removed',
          invert: true,
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing',
      sep: [CLIP_EOS, eos],
      cls: [CLIP_BOS, bos],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: CLIP_EOS,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(vocab),
      merges,
    },
  };
  const special = (content: string, normalized: boolean) => ({
    content,
    lstrip: false,
    normalized,
    rstrip: false,
    single_word: false,
  });
  const tokenizerConfig = {
    add_prefix_space: false,
    added_tokens_decoder: {
      [bos]: { ...special(CLIP_BOS, true), special: true },
      [eos]: { ...special(CLIP_EOS, false), special: true },
    },
    bos_token: CLIP_BOS,
    clean_up_tokenization_spaces: false,
    do_lower_case: true,
    eos_token: CLIP_EOS,
    errors: 'replace',
    model_max_length: contextLength,
    pad_token: CLIP_EOS,
    processor_class: 'CLIPProcessor',
    tokenizer_class: 'CLIPTokenizer',
    unk_token: CLIP_EOS,
  };
  const specialTokensMap = {
    bos_token: special(CLIP_BOS, true),
    eos_token: special(CLIP_EOS, false),
    pad_token: special(CLIP_EOS, false),
    unk_token: special(CLIP_EOS, false),
  };
  // Id 0 ("!") is what OpenAI's reference pads with, so it carries no content in the colour model either.
  return {
    tokenizerJson,
    tokenizerConfig,
    specialTokensMap,
    vocabSize: vocab.size,
    wordIds,
    specialIds: [0, bos, eos],
    padId: 0,
    eosId: eos,
  };
}

/**
 * SigLIP-shaped Unigram with Metaspace: `<pad>` 0, `</s>` 1 (eos and padding), `<unk>` 2, then
 * `▁`, whole-word pieces, and single characters so any Latin text encodes. A post-processor
 * appends `</s>` as the real SigLIP tokenizer.json does.
 */
export function siglipTokenizer(contextLength = 64): GeneratedTokenizer {
  const pieces: [string, number][] = [
    ['<pad>', 0],
    ['</s>', 0],
    ['<unk>', 0],
    ['\u2581', -2],
  ];
  for (const w of TINY_VOCAB_WORDS) pieces.push([`\u2581${w}`, -4]);
  const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  for (const c of chars) pieces.push([c, -8]);
  for (const c of ".,'-!?") pieces.push([c, -9]);
  const wordIds = new Map(TINY_VOCAB_WORDS.map((w) => [w, pieces.findIndex(([p]) => p === `\u2581${w}`)]));
  const meta = { type: 'Metaspace', replacement: '\u2581', add_prefix_space: true, prepend_scheme: 'always' };
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      { id: 1, content: '</s>', single_word: false, lstrip: true, rstrip: true, normalized: true, special: true },
      { id: 2, content: '<unk>', single_word: false, lstrip: true, rstrip: true, normalized: true, special: true },
    ],
    // The real file uses SentencePiece's Precompiled charsmap (an NFKC variant); plain NFKC stands in.
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFKC' }, { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }],
    },
    pre_tokenizer: meta,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '</s>', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 0 } },
        { SpecialToken: { id: '</s>', type_id: 0 } },
      ],
      special_tokens: { '</s>': { id: '</s>', ids: [1], tokens: ['</s>'] } },
    },
    decoder: meta,
    model: { type: 'Unigram', unk_id: 2, vocab: pieces, byte_fallback: false },
  };
  const added = (content: string) => ({
    content,
    lstrip: true,
    normalized: true,
    rstrip: true,
    single_word: false,
    special: true,
  });
  const tokenizerConfig = {
    added_tokens_decoder: { 1: added('</s>'), 2: added('<unk>') },
    additional_special_tokens: [],
    clean_up_tokenization_spaces: true,
    do_lower_case: true,
    eos_token: '</s>',
    model_input_names: ['input_ids'],
    model_max_length: contextLength,
    pad_token: '</s>',
    processor_class: 'SiglipProcessor',
    sp_model_kwargs: {},
    tokenizer_class: 'SiglipTokenizer',
    trust_remote_code: false,
    unk_token: '<unk>',
  };
  return {
    tokenizerJson,
    tokenizerConfig,
    vocabSize: pieces.length,
    wordIds,
    specialIds: [0, 1, 2],
    padId: 1,
    eosId: 1,
  };
}
