import type { GpuContext } from "@sage/kernels-webgpu";
import { createTestContext, expectClean } from "@sage/kernels-webgpu/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CharTokenizer, initWeights, ModelError, Policy } from "../src/index.js";
import { tinyQwen2Config } from "../src/testing.js";

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx?.destroy());

const c = tinyQwen2Config({
  intermediateSize: 24,
  vocabSize: 12,
  tieWordEmbeddings: false,
  maxPositionEmbeddings: 40,
  eosTokenId: 2,
});
const w = initWeights(c, 21, { std: 0.5, biasStd: 0.2 });
const prompts = [
  [1, 5, 6, 7],
  [1, 9],
  [1, 3, 3],
];

describe("GPU sampling with a KV cache", () => {
  it("greedy decoding with the cache equals full recomputation", async () => {
    const p = Policy.create(ctx, c, w, { trainable: false });
    try {
      const opts = { maxNewTokens: 12, stopTokenIds: [] as number[] };
      const cached = await p.generate(prompts, opts);
      const full = await p.generate(prompts, { ...opts, useCache: false });
      expect(cached.tokens).toEqual(full.tokens);
      expect(cached.tokens.every((t) => t.length === 12)).toBe(true);
      expect(new Set(cached.tokens.flat()).size).toBeGreaterThan(2); // not a degenerate constant
      expect(cached.finishReasons).toEqual(["length", "length", "length"]);
    } finally {
      p.destroy();
    }
    await expectClean(ctx);
  });

  it("seeded sampling is reproducible, differs across seeds, and stops at EOS", async () => {
    const p = Policy.create(ctx, c, w, { trainable: false });
    try {
      const opts = { maxNewTokens: 10, temperature: 1.5, topK: 8, topP: 0.95, stopTokenIds: [] as number[] };
      const a = await p.generate(prompts, { ...opts, seed: 1 });
      const b = await p.generate(prompts, { ...opts, seed: 1 });
      const d = await p.generate(prompts, { ...opts, seed: 2 });
      expect(a.tokens).toEqual(b.tokens);
      expect(a.tokens).not.toEqual(d.tokens);
      // Same seed with and without the cache: same draws from (nearly) the same logits.
      const full = await p.generate(prompts, { ...opts, seed: 1, useCache: false });
      expect(full.tokens).toEqual(a.tokens);
      // A stop id = the third token greedy picks for row 0: row 0 ends there with reason "eos".
      const g = await p.generate(prompts, { maxNewTokens: 6, stopTokenIds: [] });
      const stopId = g.tokens[0]?.[2] as number;
      const e = await p.generate(prompts, { maxNewTokens: 6, stopTokenIds: [stopId] });
      const first = (g.tokens[0] as number[]).indexOf(stopId);
      expect(e.tokens[0]).toEqual(g.tokens[0]?.slice(0, first + 1));
      expect(e.finishReasons[0]).toBe("eos");
      e.tokens.forEach((t, i) => {
        const k = (g.tokens[i] as number[]).indexOf(stopId);
        expect(t).toEqual(k >= 0 ? g.tokens[i]?.slice(0, k + 1) : g.tokens[i]);
      });
    } finally {
      p.destroy();
    }
    await expectClean(ctx);
  });

  it("stop strings cut the text; bad options are typed errors", async () => {
    const tok = new CharTokenizer("abcdefgh".split(""));
    const p = Policy.create(ctx, c, w, { trainable: false });
    try {
      const r = await p.generate([[1, 4]], { maxNewTokens: 8, tokenizer: tok, stopTokenIds: [] });
      const text = (r.texts as string[])[0] as string;
      expect(text.length).toBeGreaterThan(0);
      const stop = text.slice(1, 2);
      const s = await p.generate([[1, 4]], {
        maxNewTokens: 8,
        tokenizer: tok,
        stopTokenIds: [],
        stopStrings: [stop],
      });
      expect(s.finishReasons[0]).toBe("stop");
      expect((s.texts as string[])[0]).toBe(text.slice(0, text.indexOf(stop)));
      await expect(p.generate([[1]], { maxNewTokens: 40 })).rejects.toThrow(ModelError);
      await expect(p.generate([[1]], { maxNewTokens: 0 })).rejects.toThrow(ModelError);
      await expect(p.generate([[99]], { maxNewTokens: 2 })).rejects.toThrow(ModelError);
    } finally {
      p.destroy();
    }
    await expectClean(ctx);
  });
});
