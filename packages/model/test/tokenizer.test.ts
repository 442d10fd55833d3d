import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { describe, expect, it } from "vitest";
import {
  CharTokenizer,
  checkVocab,
  createConfig,
  HuggingFaceTokenizer,
  ModelError,
  tokenizerFromJSON,
} from "../src/index.js";

const texts = ["hello world", "a\nb\tc", "café 😀", "x<eos>y", "unknown: Z#", ""];

describe("CharTokenizer", () => {
  const tok = new CharTokenizer("abcdefghijklmnopqrstuvwxyz \n\té😀<>".split(/(?:)/u));

  it("has specials 0–3 and one id per character", () => {
    expect([tok.padId, tok.bosId, tok.eosId, tok.unkId]).toEqual([0, 1, 2, 3]);
    expect(tok.vocabSize).toBe(4 + 33);
    expect(tok.encode("ab", { addSpecialTokens: false })).toEqual([4, 5]);
    expect(tok.encode("ab")).toEqual([1, 4, 5]);
    expect(tok.encode("a😀", { addSpecialTokens: false })).toEqual([4, 4 + 30]);
  });

  it("recognises special-token strings and maps unknown characters to <unk>", () => {
    expect(tok.encode("a<eos>", { addSpecialTokens: false })).toEqual([4, 2]);
    expect(tok.encode("a<b", { addSpecialTokens: false })).toEqual([4, 4 + 31, 5]);
    expect(tok.encode("Q", { addSpecialTokens: false })).toEqual([3]);
  });

  it("decodes, optionally skipping specials, and rejects ids out of range", () => {
    const ids = tok.encode("hi<eos>");
    expect(tok.decode(ids)).toBe("<bos>hi<eos>");
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe("hi");
    expect(() => tok.decode([99])).toThrow(ModelError);
  });

  it("its tokenizer.json loads in @huggingface/tokenizers and encodes/decodes identically", () => {
    const json = JSON.parse(JSON.stringify(tok.toJSON()));
    const hf = new HfTokenizer(json, {});
    for (const t of texts) {
      for (const add of [true, false]) {
        const mine = tok.encode(t, { addSpecialTokens: add });
        expect(hf.encode(t, { add_special_tokens: add }).ids, JSON.stringify(t)).toEqual(mine);
        if (mine.length === 0) continue; // the library refuses to decode an empty list
        expect(hf.decode(mine, { skip_special_tokens: false })).toBe(tok.decode(mine));
        expect(hf.decode(mine, { skip_special_tokens: true })).toBe(
          tok.decode(mine, { skipSpecialTokens: true }),
        );
      }
    }
  });

  it("round-trips through tokenizer.json as a CharTokenizer", () => {
    const back = tokenizerFromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
    expect(back).toBeInstanceOf(CharTokenizer);
    expect((back as CharTokenizer).chars).toEqual(tok.chars);
  });

  it("fromTexts builds a sorted alphabet; multi-character entries are refused", () => {
    const t = CharTokenizer.fromTexts(["ba", "c"]);
    expect(t.chars).toEqual(["a", "b", "c"]);
    expect(() => new CharTokenizer(["ab"])).toThrow(ModelError);
  });
});

describe("HuggingFaceTokenizer", () => {
  // A small byte-level BPE tokenizer.json in the shape real models ship (GPT-2 / Qwen2 style).
  const vocab: Record<string, number> = {
    "<|endoftext|>": 0,
    h: 1,
    e: 2,
    l: 3,
    o: 4,
    Ġ: 5,
    w: 6,
    r: 7,
    d: 8,
    he: 9,
    ll: 10,
    Ġw: 11,
  };
  const json = {
    version: "1.0",
    added_tokens: [
      {
        id: 0,
        content: "<|endoftext|>",
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
    ],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: ["h e", "l l", "Ġ w"],
    },
  };

  it("encodes and decodes through the library, with special ids from tokenizer_config", () => {
    const tok = new HuggingFaceTokenizer(json, { eos_token: "<|endoftext|>", pad_token: "<|endoftext|>" });
    const ids = tok.encode("hello world");
    expect(ids).toEqual([9, 10, 4, 11, 4, 7, 3, 8]);
    expect(tok.decode(ids)).toBe("hello world");
    expect(tok.vocabSize).toBe(12);
    expect(tok.eosId).toBe(0);
    expect(tok.padId).toBe(0);
    expect(tok.bosId).toBeUndefined();
  });

  it("invalid tokenizer.json is a typed error", () => {
    expect(() => new HuggingFaceTokenizer(null)).toThrow(ModelError);
    expect(() => new HuggingFaceTokenizer({ model: { type: "Nope" } })).toThrow(ModelError);
  });

  it("vocabulary larger than the model's vocab_size is a VOCAB_MISMATCH", () => {
    const tok = new HuggingFaceTokenizer(json, {});
    const small = createConfig({
      hiddenSize: 4,
      intermediateSize: 4,
      numLayers: 1,
      numHeads: 1,
      vocabSize: 10,
    });
    const big = createConfig({
      hiddenSize: 4,
      intermediateSize: 4,
      numLayers: 1,
      numHeads: 1,
      vocabSize: 16,
    });
    let err: unknown;
    try {
      checkVocab(tok, small);
    } catch (e) {
      err = e;
    }
    expect((err as ModelError).code).toBe("VOCAB_MISMATCH");
    expect(() => checkVocab(tok, big)).not.toThrow();
  });
});
