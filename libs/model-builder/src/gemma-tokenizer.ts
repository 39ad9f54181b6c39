import { applyMerges, TINY_VOCAB_WORDS, type GeneratedTokenizer } from './tokenizers.js';

/** Gemma's special tokens and their ids (the same in every Gemma and SigLIP 2 tokenizer). */
export const GEMMA_SPECIAL = { pad: 0, eos: 1, bos: 2, unk: 3, mask: 4 } as const;
const SPECIAL_CONTENT = ['<pad>', '<eos>', '<bos>', '<unk>', '<mask>'];
/** Id of the byte-fallback token `<0x00>`; `<0xNN>` is BYTE_BASE + NN. */
export const GEMMA_BYTE_BASE = SPECIAL_CONTENT.length;
/** Characters with a token of their own; anything else falls back to its UTF-8 bytes. */
export const GEMMA_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,'-!?";

const META = '\u2581';

/**
 * A SigLIP 2-shaped Gemma tokenizer: the real pipeline (SentencePiece BPE exported to tokenizer.json:
 * spaces replaced by `▁` with no dummy prefix, no pre-tokenizer, byte fallback to `<0xNN>`, cased
 * vocabulary) with a tiny vocabulary: `<pad>` 0, `<eos>` 1, `<bos>` 2, `<unk>` 3, `<mask>` 4, the 256
 * byte tokens, `▁`, single characters, and merges that make each of `TINY_VOCAB_WORDS` one token both
 * bare (a text's first word) and with `▁` (every later word). The post-processor appends `<eos>`, as
 * SigLIP 2's does (`add_bos_token: false`, `add_eos_token: true`); padding is `<pad>` to 64.
 */
export function gemmaTokenizer(contextLength = 64): GeneratedTokenizer {
  const vocab = new Map<string, number>();
  for (const s of SPECIAL_CONTENT) vocab.set(s, vocab.size);
  for (let b = 0; b < 256; b++) vocab.set(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, vocab.size);
  vocab.set(META, vocab.size);
  for (const c of GEMMA_CHARS) vocab.set(c, vocab.size);
  const merges: [string, string][] = [];
  const ranks = new Map<string, number>();
  const learn = (piece: string) => {
    let parts = applyMerges([...piece], ranks);
    while (parts.length > 1) {
      const [a, b] = parts as [string, string];
      ranks.set(`${a} ${b}`, merges.length);
      merges.push([a, b]);
      if (!vocab.has(a + b)) vocab.set(a + b, vocab.size);
      parts = applyMerges([a + b, ...parts.slice(2)], ranks);
    }
  };
  for (const w of TINY_VOCAB_WORDS) {
    learn(w);
    learn(`${META}${w}`);
  }
  const wordIds = new Map(TINY_VOCAB_WORDS.map((w) => [w, vocab.get(`${META}${w}`)!]));
  const added = SPECIAL_CONTENT.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'Replace', pattern: { String: ' ' }, content: META },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<eos>', type_id: 0 } }],
      pair: [
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<eos>', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '<eos>', type_id: 1 } },
      ],
      special_tokens: { '<eos>': { id: '<eos>', ids: [GEMMA_SPECIAL.eos], tokens: ['<eos>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: META }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: Object.fromEntries(vocab),
      merges,
    },
  };
  const special = (content: string) => ({
    content,
    lstrip: false,
    normalized: false,
    rstrip: false,
    single_word: false,
  });
  const tokenizerConfig = {
    add_bos_token: false,
    add_eos_token: true,
    added_tokens_decoder: Object.fromEntries(added.map(({ id, ...t }) => [id, t])),
    additional_special_tokens: [],
    bos_token: '<bos>',
    clean_up_tokenization_spaces: false,
    eos_token: '<eos>',
    extra_special_tokens: {},
    mask_token: '<mask>',
    model_max_length: contextLength,
    pad_token: '<pad>',
    padding_side: 'right',
    processor_class: 'SiglipProcessor',
    sp_model_kwargs: {},
    spaces_between_special_tokens: false,
    tokenizer_class: 'GemmaTokenizer',
    unk_token: '<unk>',
    use_default_system_prompt: false,
  };
  const specialTokensMap = {
    bos_token: special('<bos>'),
    eos_token: special('<eos>'),
    mask_token: special('<mask>'),
    pad_token: special('<pad>'),
    unk_token: special('<unk>'),
  };
  return {
    tokenizerJson,
    tokenizerConfig,
    specialTokensMap,
    vocabSize: vocab.size,
    wordIds,
    specialIds: [0, 1, 2, 3, 4],
    padId: GEMMA_SPECIAL.pad,
    eosId: GEMMA_SPECIAL.eos,
  };
}

/** The id of a piece of the generated Gemma vocabulary (for hand-written expectations). */
export function gemmaPieceId(tok: GeneratedTokenizer, piece: string): number {
  const id = (tok.tokenizerJson['model'] as { vocab: Record<string, number> }).vocab[piece];
  if (id === undefined) throw new Error(`'${piece}' is not a piece of the generated Gemma vocabulary`);
  return id;
}
