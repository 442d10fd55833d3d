import { describe, expect, it } from "vitest";
import {
  applyStopStrings,
  argmax,
  ModelError,
  packPromptResponse,
  positionIds,
  Rng,
  sampleToken,
  samplingDistribution,
} from "../src/index.js";

describe("Rng", () => {
  it("is reproducible per seed and different across seeds", () => {
    const a = new Rng(5);
    const b = new Rng(5);
    const c = new Rng(6);
    const xa = Array.from({ length: 10 }, () => a.next());
    expect(Array.from({ length: 10 }, () => b.next())).toEqual(xa);
    expect(Array.from({ length: 10 }, () => c.next())).not.toEqual(xa);
    for (const x of xa) expect(x >= 0 && x < 1).toBe(true);
  });

  it("normal() has mean ≈ 0 and variance ≈ 1 (n = 20000: 5σ bounds 0.035 and 0.05)", () => {
    const r = new Rng(1);
    let s = 0;
    let s2 = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      s += x;
      s2 += x * x;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.035);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.05);
  });
});

describe("sampling over a logits row", () => {
  const logits = [1, 3, 2, -1, 3];

  it("greedy is the argmax (first on ties) and ignores the rng", () => {
    expect(argmax(logits)).toBe(1);
    const r = new Rng(1);
    expect(sampleToken(logits, {}, r)).toBe(1);
    expect(sampleToken(logits, { temperature: 0 }, r)).toBe(1);
    expect(r.next()).toBe(new Rng(1).next());
    expect(() => argmax([0, Number.NaN])).toThrow(ModelError);
  });

  it("temperature softmax, top-k and top-p distributions", () => {
    const d = samplingDistribution([0, Math.log(3)], { temperature: 1 });
    expect(d.ids).toEqual([1, 0]);
    expect(d.probs[0]).toBeCloseTo(0.75, 12);
    const t2 = samplingDistribution([0, Math.log(3)], { temperature: 2 });
    expect(t2.probs[0]).toBeCloseTo(Math.sqrt(3) / (1 + Math.sqrt(3)), 12);
    const k = samplingDistribution(logits, { temperature: 1, topK: 2 });
    expect(k.ids).toEqual([1, 4]);
    expect(k.probs).toEqual([0.5, 0.5]);
    // probs for [3,3,2,1,-1]: top-p 0.5 keeps just the first; 0.6 the first two.
    expect(samplingDistribution(logits, { temperature: 1, topP: 0.3 }).ids).toEqual([1]);
    expect(samplingDistribution(logits, { temperature: 1, topP: 0.6 }).ids).toEqual([1, 4]);
    const all = samplingDistribution(logits, { temperature: 1 });
    expect(all.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(samplingDistribution([0, Number.NEGATIVE_INFINITY], { temperature: 1 }).ids).toEqual([0]);
  });

  it("empirical frequencies match the distribution (n = 20000, 5σ ≤ 0.018)", () => {
    const r = new Rng(9);
    const counts = [0, 0, 0, 0, 0];
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const id = sampleToken(logits, { temperature: 1, topK: 3 }, r);
      counts[id] = (counts[id] as number) + 1;
    }
    const d = samplingDistribution(logits, { temperature: 1, topK: 3 });
    d.ids.forEach((id, j) => {
      expect(Math.abs((counts[id] as number) / n - (d.probs[j] as number))).toBeLessThan(0.018);
    });
    expect(counts[3]).toBe(0);
    expect(counts[0]).toBe(0);
  });

  it("is reproducible with a seed", () => {
    const draw = (seed: number) => {
      const r = new Rng(seed);
      return Array.from({ length: 50 }, () => sampleToken(logits, { temperature: 0.8, topP: 0.9 }, r));
    };
    expect(draw(3)).toEqual(draw(3));
    expect(draw(3)).not.toEqual(draw(4));
  });

  it("rejects invalid options", () => {
    expect(() => samplingDistribution(logits, { temperature: -1 })).toThrow(ModelError);
    expect(() => samplingDistribution(logits, { temperature: 1, topP: 0 })).toThrow(ModelError);
    expect(() => samplingDistribution(logits, { temperature: 1, topK: 1.5 })).toThrow(ModelError);
    expect(() => samplingDistribution([Number.NEGATIVE_INFINITY], { temperature: 1 })).toThrow(ModelError);
  });
});

describe("stop strings", () => {
  it("cuts before the earliest stop string", () => {
    expect(applyStopStrings("abc\n\nQ: x", ["Q:", "\n\n"])).toEqual({ text: "abc", stopped: true });
    expect(applyStopStrings("abc", ["z"])).toEqual({ text: "abc", stopped: false });
    expect(() => applyStopStrings("abc", [""])).toThrow(ModelError);
  });
});

describe("batches", () => {
  it("packs (prompt, response) pairs with right/left padding and response-only masks", () => {
    const r = packPromptResponse(
      [
        { prompt: [5, 6], response: [7] },
        { prompt: [8], response: [9, 10, 11] },
      ],
      0,
    );
    expect(r.tokens).toEqual([
      [5, 6, 7, 0],
      [8, 9, 10, 11],
    ]);
    expect(r.attentionMask).toEqual([
      [1, 1, 1, 0],
      [1, 1, 1, 1],
    ]);
    expect(r.responseMask).toEqual([
      [0, 0, 1, 0],
      [0, 1, 1, 1],
    ]);
    const l = packPromptResponse([{ prompt: [5, 6], response: [7] }], 0, "left");
    expect(l.tokens).toEqual([[5, 6, 7]]);
    const l2 = packPromptResponse(
      [
        { prompt: [5], response: [7] },
        { prompt: [1, 2], response: [3] },
      ],
      0,
      "left",
    );
    expect(l2.tokens).toEqual([
      [0, 5, 7],
      [1, 2, 3],
    ]);
    expect(positionIds(l2)).toEqual([
      [0, 0, 1],
      [0, 1, 2],
    ]);
    expect(() => packPromptResponse([{ prompt: [], response: [1] }], 0)).toThrow(ModelError);
  });
});
