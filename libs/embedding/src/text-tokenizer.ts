import { Tokenizer } from '@huggingface/tokenizers';
import { decodeHTML } from 'entities';
import type { ModelFamily } from '@image-search/collection-schema';
import { AppError } from '@image-search/service-kit';

// Python's `\s` / str.isspace() set (differs from JS `\s`: adds \x1c-\x1f and \x85, lacks \uFEFF).
const PY_WS = '\\t\\n\\v\\f\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const WS_RUN = new RegExp(`[${PY_WS}]+`, 'g');
const WS_EDGES = new RegExp(`^[${PY_WS}]+|[${PY_WS}]+$`, 'g');
// Python's string.punctuation: !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~
const PY_PUNCT = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

/**
 * OpenAI CLIP's `basic_clean` + `whitespace_clean` + lower(): HTML entities unescaped twice (as
 * `html.unescape(html.unescape(text))`), whitespace runs collapsed, trimmed, lowercased.
 * ftfy.fix_text is not reproduced (no JS port); it is the identity on ordinary text.
 */
export function clipCleanText(text: string): string {
  const unescaped = decodeHTML(decodeHTML(text));
  return unescaped.replace(WS_EDGES, '').replace(WS_RUN, ' ').replace(WS_EDGES, '').toLowerCase();
}

/** big_vision / HF SiglipTokenizer canonicalisation, then lowercase: ASCII punctuation removed, whitespace collapsed, trimmed. */
export function siglipCanonicalize(text: string): string {
  return text.replace(PY_PUNCT, '').replace(WS_RUN, ' ').replace(WS_EDGES, '').toLowerCase();
}

/**
 * SigLIP 2's text cleaning: lowercase only. The model was trained on lowercased text (big_vision; the
 * Hugging Face model card says to lowercase too, its processor does not); punctuation stays, unlike SigLIP.
 */
export function siglip2Clean(text: string): string {
  return text.toLowerCase();
}

/**
 * How a model's texts become ids: `clip` (OpenAI CLIP), `siglip` (T5 SentencePiece + canonicalisation)
 * or `siglip2` (Gemma tokenizer, lowercased, special tokens and padding from tokenizer_config.json).
 */
export type TextStyle = 'clip' | 'siglip' | 'siglip2';

/** Turns texts into fixed-length id rows exactly as the model's reference tokenizer does. */
export interface TextTokenizer {
  readonly contextLength: number;
  /** Writes the ids of `text` into `out` at `offset` (contextLength ids); returns the number before padding. */
  encodeInto(text: string, out: BigInt64Array, offset: number): number;
}

/** Token ids of several texts (`contextLength` per row, row-major) and each row's count before padding. */
export interface TokenRows {
  ids: BigInt64Array;
  counts: number[];
}

/**
 * Encodes several texts into the rows the text towers take. The counts come from the tokenizer, not from
 * scanning a row for the end id: a text may contain a literal `<|endoftext|>`, which is a real token.
 */
export function encodeBatch(tokenizer: TextTokenizer, texts: string[]): TokenRows {
  const ctx = tokenizer.contextLength;
  const ids = new BigInt64Array(texts.length * ctx);
  const counts = texts.map((t, i) => tokenizer.encodeInto(t, ids, i * ctx));
  return { ids, counts };
}

function specialId(tok: Tokenizer, token: unknown, what: string, file: string): number {
  const content =
    typeof token === 'string'
      ? token
      : token && typeof token === 'object'
        ? (token as { content?: unknown }).content
        : undefined;
  const id = typeof content === 'string' ? tok.token_to_id(content) : undefined;
  if (id === undefined)
    throw new AppError(
      'INVALID_CONFIG',
      `${file}: the ${what} token ${JSON.stringify(content)} is not in the vocabulary`,
    );
  return id;
}

/**
 * Builds the family's tokenizer from `tokenizer.json` (+ `tokenizer_config.json`) with
 * @huggingface/tokenizers; only the reference's cleaning, special tokens, truncation and padding are ours.
 */
export function createTextTokenizer(opts: {
  family: ModelFamily;
  /** Defaults to the family's (`clip` or `siglip`); model folders with a Gemma tokenizer are `siglip2`. */
  style?: TextStyle;
  tokenizerJson: object;
  tokenizerConfig: Record<string, unknown>;
  contextLength: number;
  file: string;
}): TextTokenizer {
  const tok = new Tokenizer(opts.tokenizerJson, opts.tokenizerConfig);
  const ctx = opts.contextLength;
  const cfg = opts.tokenizerConfig;
  if (opts.family === 'clip') {
    const sot = specialId(tok, cfg['bos_token'] ?? '<|startoftext|>', 'start', opts.file);
    const eot = specialId(tok, cfg['eos_token'] ?? '<|endoftext|>', 'end', opts.file);
    return {
      contextLength: ctx,
      encodeInto(text, out, offset) {
        const ids = tok.encode(clipCleanText(text), { add_special_tokens: false }).ids;
        // clip.tokenize(truncate=True): [sot] + ids + [eot], cut to ctx with eot forced last, zero padding.
        const n = Math.min(ids.length + 2, ctx);
        out[offset] = BigInt(sot);
        for (let i = 1; i < n - 1; i++) out[offset + i] = BigInt(ids[i - 1] as number);
        out[offset + n - 1] = BigInt(eot);
        out.fill(0n, offset + n, offset + ctx);
        return n;
      },
    };
  }
  if (opts.style === 'siglip2') return gemmaRows(tok, cfg, ctx, opts.file);
  const eos = specialId(tok, cfg['eos_token'] ?? '</s>', 'end', opts.file);
  const pad = specialId(tok, cfg['pad_token'] ?? cfg['eos_token'] ?? '</s>', 'padding', opts.file);
  return {
    contextLength: ctx,
    encodeInto(text, out, offset) {
      const ids = tok.encode(siglipCanonicalize(text), { add_special_tokens: false }).ids;
      // The SigLIP text tower has no mask and pools the last position: always exactly ctx ids.
      const n = Math.min(ids.length, ctx - 1);
      for (let i = 0; i < n; i++) out[offset + i] = BigInt(ids[i] as number);
      out[offset + n] = BigInt(eos);
      out.fill(BigInt(pad), offset + n + 1, offset + ctx);
      return n + 1;
    },
  };
}

/**
 * SigLIP 2 (Gemma): lowercased text encoded without special tokens, then `<bos>` when
 * `add_bos_token` (false in SigLIP 2), the first ids that fit, `<eos>` when `add_eos_token` (true),
 * and `<pad>` up to the context length: what GemmaTokenizerFast gives with padding="max_length",
 * max_length=64, truncation=True (the truncation keeps the special tokens).
 */
function gemmaRows(tok: Tokenizer, cfg: Record<string, unknown>, ctx: number, file: string): TextTokenizer {
  const bos = cfg['add_bos_token'] === true ? specialId(tok, cfg['bos_token'] ?? '<bos>', 'start', file) : undefined;
  const eos = cfg['add_eos_token'] === false ? undefined : specialId(tok, cfg['eos_token'] ?? '<eos>', 'end', file);
  const pad = specialId(tok, cfg['pad_token'] ?? '<pad>', 'padding', file);
  const room = ctx - (bos === undefined ? 0 : 1) - (eos === undefined ? 0 : 1);
  if (room < 1) throw new AppError('INVALID_CONFIG', `${file}: a context length of ${ctx} leaves no room for text`);
  return {
    contextLength: ctx,
    encodeInto(text, out, offset) {
      const ids = tok.encode(siglip2Clean(text), { add_special_tokens: false }).ids;
      let at = offset;
      if (bos !== undefined) out[at++] = BigInt(bos);
      const n = Math.min(ids.length, room);
      for (let i = 0; i < n; i++) out[at++] = BigInt(ids[i] as number);
      if (eos !== undefined) out[at++] = BigInt(eos);
      const count = at - offset;
      out.fill(BigInt(pad), at, offset + ctx);
      return count;
    },
  };
}
