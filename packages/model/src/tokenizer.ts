/**
 * Tokenizers behind one interface: a built-in character-level tokenizer (saved as a valid HF
 * `tokenizer.json`: a BPE model with no merges over single characters, a `Split` pre-tokenizer
 * isolating each character, a `Fuse` decoder and a BOS template) and a wrapper around
 * `@huggingface/tokenizers` for real `tokenizer.json` files.
 */
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import type { ModelConfig } from "./config.js";
import { ModelError, show } from "./errors.js";

export interface EncodeOptions {
  /** Add the tokenizer's special tokens (e.g. BOS) as its post-processor says (default true). */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens from the text (default false). */
  skipSpecialTokens?: boolean;
}

export interface Tokenizer {
  readonly vocabSize: number;
  readonly padId: number | undefined;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly unkId: number | undefined;
  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /** The HF `tokenizer.json` content. */
  toJSON(): unknown;
}

export const CHAR_SPECIALS = { pad: "<pad>", bos: "<bos>", eos: "<eos>", unk: "<unk>" } as const;

/**
 * Character-level tokenizer: ids 0–3 are `<pad>`, `<bos>`, `<eos>`, `<unk>`, then one id per
 * character (Unicode code point) of the alphabet, in the given order. Special-token strings in the
 * input text are recognised as those tokens (as HF does); unknown characters map to `<unk>`.
 */
export class CharTokenizer implements Tokenizer {
  readonly chars: readonly string[];
  readonly padId = 0;
  readonly bosId = 1;
  readonly eosId = 2;
  readonly unkId = 3;
  private readonly toId: Map<string, number>;

  constructor(alphabet: Iterable<string>) {
    const chars: string[] = [];
    const seen = new Set<string>();
    for (const ch of alphabet) {
      if ([...ch].length !== 1) {
        throw new ModelError(
          "TOKENIZER_INVALID",
          `alphabet entries must be single characters, received ${show(ch)}`,
        );
      }
      if (!seen.has(ch)) {
        seen.add(ch);
        chars.push(ch);
      }
    }
    this.chars = chars;
    this.toId = new Map(chars.map((c, i) => [c, i + 4]));
  }

  /** Alphabet = the sorted set of characters in the given texts. */
  static fromTexts(texts: Iterable<string>): CharTokenizer {
    const s = new Set<string>();
    for (const t of texts) for (const ch of t) s.add(ch);
    return new CharTokenizer([...s].sort());
  }

  get vocabSize(): number {
    return this.chars.length + 4;
  }

  private readonly specialList = [CHAR_SPECIALS.pad, CHAR_SPECIALS.bos, CHAR_SPECIALS.eos, CHAR_SPECIALS.unk];

  encode(text: string, options: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if (options.addSpecialTokens ?? true) out.push(this.bosId);
    let i = 0;
    outer: while (i < text.length) {
      if (text[i] === "<") {
        for (let s = 0; s < this.specialList.length; s++) {
          const sp = this.specialList[s] as string;
          if (text.startsWith(sp, i)) {
            out.push(s);
            i += sp.length;
            continue outer;
          }
        }
      }
      const cp = text.codePointAt(i) as number;
      const ch = String.fromCodePoint(cp);
      out.push(this.toId.get(ch) ?? this.unkId);
      i += ch.length;
    }
    return out;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    let s = "";
    for (const id of ids) {
      if (!Number.isSafeInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new ModelError("INPUT_INVALID", `token id ${show(id)} outside [0, ${this.vocabSize})`);
      }
      if (id < 4) {
        if (!options.skipSpecialTokens) s += this.specialList[id];
      } else s += this.chars[id - 4];
    }
    return s;
  }

  toJSON(): unknown {
    const vocab: Record<string, number> = {};
    this.specialList.forEach((t, i) => {
      vocab[t] = i;
    });
    this.chars.forEach((c, i) => {
      vocab[c] = i + 4;
    });
    const bos = { SpecialToken: { id: CHAR_SPECIALS.bos, type_id: 0 } };
    return {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: this.specialList.map((content, id) => ({
        id,
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      normalizer: null,
      pre_tokenizer: { type: "Split", pattern: { Regex: "[\\s\\S]" }, behavior: "Isolated", invert: false },
      post_processor: {
        type: "TemplateProcessing",
        single: [bos, { Sequence: { id: "A", type_id: 0 } }],
        pair: [bos, { Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
        special_tokens: {
          [CHAR_SPECIALS.bos]: { id: CHAR_SPECIALS.bos, ids: [this.bosId], tokens: [CHAR_SPECIALS.bos] },
        },
      },
      decoder: { type: "Fuse" },
      model: {
        type: "BPE",
        dropout: null,
        unk_token: CHAR_SPECIALS.unk,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges: [],
      },
    };
  }

  /** Recognise a `tokenizer.json` written by `toJSON` and rebuild the tokenizer (else undefined). */
  static fromJSON(json: unknown): CharTokenizer | undefined {
    const j = json as {
      model?: { type?: unknown; vocab?: unknown; merges?: unknown };
      decoder?: { type?: unknown };
    };
    if (j?.model?.type !== "BPE" || j.decoder?.type !== "Fuse") return undefined;
    if (!Array.isArray(j.model.merges) || j.model.merges.length !== 0) return undefined;
    const vocab = j.model.vocab;
    if (typeof vocab !== "object" || vocab === null) return undefined;
    const entries = Object.entries(vocab as Record<string, unknown>);
    const specials = [CHAR_SPECIALS.pad, CHAR_SPECIALS.bos, CHAR_SPECIALS.eos, CHAR_SPECIALS.unk];
    for (let i = 0; i < 4; i++)
      if ((vocab as Record<string, unknown>)[specials[i] as string] !== i) return undefined;
    const chars: string[] = new Array(entries.length - 4);
    for (const [tok, id] of entries) {
      if (specials.includes(tok as never)) continue;
      if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 4 || id >= entries.length)
        return undefined;
      if ([...tok].length !== 1 || chars[id - 4] !== undefined) return undefined;
      chars[id - 4] = tok;
    }
    if (chars.some((c) => c === undefined)) return undefined;
    return new CharTokenizer(chars);
  }
}

/** A `tokenizer.json` loaded through `@huggingface/tokenizers`. */
export class HuggingFaceTokenizer implements Tokenizer {
  readonly padId: number | undefined;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly unkId: number | undefined;
  readonly vocabSize: number;
  private readonly tok: HfTokenizer;
  private readonly json: unknown;

  /**
   * @param tokenizerJson parsed `tokenizer.json`
   * @param tokenizerConfig parsed `tokenizer_config.json` (optional; gives bos/eos/pad token names)
   */
  constructor(tokenizerJson: unknown, tokenizerConfig: Record<string, unknown> = {}) {
    if (typeof tokenizerJson !== "object" || tokenizerJson === null) {
      throw new ModelError(
        "TOKENIZER_INVALID",
        `tokenizer.json must be an object, received ${show(tokenizerJson)}`,
      );
    }
    try {
      this.tok = new HfTokenizer(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw new ModelError(
        "TOKENIZER_INVALID",
        `tokenizer.json could not be loaded: ${(e as Error).message}`,
      );
    }
    this.json = tokenizerJson;
    const vocab = this.tok.get_vocab(true);
    let maxId = -1;
    for (const id of vocab.values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    const idOf = (key: string, fallbacks: string[]): number | undefined => {
      const v = tokenizerConfig[key];
      const name = typeof v === "string" ? v : (v as { content?: unknown } | undefined)?.content;
      if (typeof name === "string") {
        const id = this.tok.token_to_id(name);
        if (id !== undefined) return id;
      }
      for (const f of fallbacks) {
        const id = this.tok.token_to_id(f);
        if (id !== undefined) return id;
      }
      return undefined;
    };
    this.bosId = idOf("bos_token", ["<s>", "<bos>", "<|begin_of_text|>", "<|im_start|>"]);
    this.eosId = idOf("eos_token", ["</s>", "<eos>", "<|endoftext|>", "<|end_of_text|>", "<|im_end|>"]);
    this.padId = idOf("pad_token", ["<pad>", "<|endoftext|>"]);
    this.unkId = idOf("unk_token", ["<unk>"]);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.tok.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    if (ids.length === 0) return "";
    for (const id of ids) {
      if (!Number.isSafeInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new ModelError("INPUT_INVALID", `token id ${show(id)} outside [0, ${this.vocabSize})`);
      }
    }
    return this.tok.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  toJSON(): unknown {
    return this.json;
  }
}

/** Parse a `tokenizer.json`: our own char tokenizer comes back as `CharTokenizer`, anything else via HF. */
export function tokenizerFromJSON(json: unknown, tokenizerConfig: Record<string, unknown> = {}): Tokenizer {
  return CharTokenizer.fromJSON(json) ?? new HuggingFaceTokenizer(json, tokenizerConfig);
}

/**
 * Check a tokenizer fits a model: every token id must be < `vocab_size` (models often pad the
 * embedding matrix, so a tokenizer smaller than `vocab_size` is fine; a larger one is not).
 */
export function checkVocab(tokenizer: Tokenizer, config: ModelConfig): void {
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new ModelError(
      "VOCAB_MISMATCH",
      `tokenizer has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${config.vocabSize}`,
    );
  }
}
