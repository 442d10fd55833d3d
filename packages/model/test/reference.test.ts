import { describe, expect, it } from "vitest";
import {
  initWeights,
  type ModelConfig,
  ModelError,
  packPromptResponse,
  parameterSpecs,
  type RefParams,
  Rng,
  referenceBackward,
  referenceForward,
  referenceSequenceLogProbs,
  referenceSequenceLogProbsBackward,
  refParamsFromWeights,
  type ScoredBatch,
} from "../src/index.js";
import { tinyLlamaConfig, tinyQwen2Config } from "../src/testing.js";
import { maxAbsDiff } from "./helpers.js";

// gpu-policy.test.ts's configs at half width.
const configs: [string, ModelConfig][] = [
  ["llama, untied, MHA", tinyLlamaConfig({ hiddenSize: 8, intermediateSize: 12, vocabSize: 7 })],
  [
    "qwen2, tied, GQA 4→2, QKV bias",
    tinyQwen2Config({ hiddenSize: 8, intermediateSize: 10, vocabSize: 9, ropeTheta: 10 }),
  ],
];

// Larger-than-default init so that every path (attention mixing, SwiGLU curvature) matters.
function params(c: ModelConfig, seed: number): RefParams {
  return refParamsFromWeights(c, initWeights(c, seed, { std: 0.4, biasStd: 0.2, normStd: 0.2 }));
}

const BETA = 0.7;
/** A DPO loss over (chosen, rejected) = rows (0, 1), (2, 3) against fixed reference log-probs. */
function dpo(seq: Float64Array, refLp: number[]): { loss: number; dSeq: number[] } {
  let loss = 0;
  const dSeq = [0, 0, 0, 0];
  for (let k = 0; k < 2; k++) {
    const chosen = (seq[2 * k] as number) - (refLp[2 * k] as number);
    const rejected = (seq[2 * k + 1] as number) - (refLp[2 * k + 1] as number);
    const margin = BETA * (chosen - rejected);
    loss += Math.log1p(Math.exp(-margin)); // −log σ(margin)
    const g = -1 / (1 + Math.exp(margin)); // dloss/dmargin
    dSeq[2 * k] = g * BETA;
    dSeq[2 * k + 1] = -g * BETA;
  }
  return { loss, dSeq };
}

describe.each(configs)("f64 reference (%s)", (_name, c) => {
  // 4 rows: right padding, left padding, different lengths.
  const batchR = packPromptResponse(
    [
      { prompt: [1, 2, 3], response: [4, 5] },
      { prompt: [1, 6], response: [2] },
      { prompt: [3], response: [4, 5, 6, 0] },
      { prompt: [2, 2], response: [1, 3, 5] },
    ],
    0,
    "right",
  );
  const batchL: ScoredBatch = packPromptResponse(
    [
      { prompt: [1, 2, 3], response: [4, 5] },
      { prompt: [1, 6], response: [2] },
      { prompt: [3], response: [4, 5, 6, 0] },
      { prompt: [2, 2], response: [1, 3, 5] },
    ],
    0,
    "left",
  );
  const refLp = [-3.1, -2.2, -4.0, -3.5];

  it("finite differences match the analytic gradient of a DPO loss for every element of every parameter", () => {
    for (const batch of [batchR, batchL]) {
      const p = params(c, 11);
      const res = referenceSequenceLogProbs(c, p, batch);
      const { dSeq } = dpo(res.sequence, refLp);
      const grads = referenceSequenceLogProbsBackward(c, p, batch, res, dSeq);
      const h = 1e-5;
      let checked = 0;
      for (const s of parameterSpecs(c)) {
        const w = p[s.name] as Float64Array;
        const g = grads[s.name] as Float64Array;
        expect(g.length).toBe(w.length);
        for (let i = 0; i < w.length; i++) {
          const orig = w[i] as number;
          w[i] = orig + h;
          const lp = dpo(referenceSequenceLogProbs(c, p, batch).sequence, refLp).loss;
          w[i] = orig - h;
          const lm = dpo(referenceSequenceLogProbs(c, p, batch).sequence, refLp).loss;
          w[i] = orig;
          const fd = (lp - lm) / (2 * h);
          // Central differences: truncation O(h²) ≈ 1e-10 and cancellation ≈ 1e-16/h = 1e-11 for
          // O(1) losses, so 1e-7 + 1e-6·|g| only fails on a real error.
          const tol = 1e-7 + 1e-6 * Math.abs(g[i] as number);
          if (Math.abs(fd - (g[i] as number)) > tol) {
            throw new Error(`${s.name}[${i}]: finite difference ${fd} vs analytic ${g[i]}`);
          }
          checked++;
        }
      }
      expect(checked).toBe(parameterSpecs(c).reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0));
    }
  });

  it("gradient of an arbitrary function of all logits (incl. padded positions) matches finite differences", () => {
    const p = params(c, 5);
    const fwd = referenceForward(c, p, batchR);
    const rng = new Rng(3);
    const R = Float64Array.from(fwd.logits, () => rng.normal());
    const grads = referenceBackward(c, p, fwd, R);
    const f = () => referenceForward(c, p, batchR).logits.reduce((a, v, i) => a + v * (R[i] as number), 0);
    const h = 1e-5;
    // Sample 20 elements per parameter (every element is covered by the DPO test above).
    for (const s of parameterSpecs(c)) {
      const w = p[s.name] as Float64Array;
      for (let j = 0; j < 20; j++) {
        const i = rng.int(w.length);
        const orig = w[i] as number;
        w[i] = orig + h;
        const a = f();
        w[i] = orig - h;
        const b = f();
        w[i] = orig;
        const fd = (a - b) / (2 * h);
        const g = (grads[s.name] as Float64Array)[i] as number;
        expect(Math.abs(fd - g), `${s.name}[${i}]`).toBeLessThan(1e-6 + 1e-6 * Math.abs(g));
      }
    }
  });

  it("is causal: changing a later token leaves earlier logits unchanged", () => {
    const p = params(c, 2);
    const a = { tokens: [[1, 2, 3, 4, 5, 6]] };
    const b = { tokens: [[1, 2, 3, 0, 0, 0]] };
    const la = referenceForward(c, p, a).logits;
    const lb = referenceForward(c, p, b).logits;
    const V = c.vocabSize;
    expect(maxAbsDiff(la.subarray(0, 3 * V), lb.subarray(0, 3 * V))).toBe(0);
    expect(maxAbsDiff(la.subarray(3 * V, 4 * V), lb.subarray(3 * V, 4 * V))).toBeGreaterThan(1e-3);
  });

  it("is padding-invariant: right and left padding give the unpadded logits and log-probs", () => {
    const p = params(c, 4);
    const V = c.vocabSize;
    const rows = batchR.tokens.map((r, b) => r.filter((_, t) => batchR.attentionMask?.[b]?.[t] === 1));
    const right = referenceSequenceLogProbs(c, p, batchR);
    const left = referenceSequenceLogProbs(c, p, batchL);
    for (let b = 0; b < rows.length; b++) {
      const row = rows[b] as number[];
      const alone = referenceForward(c, p, { tokens: [row] }).logits;
      const T = batchR.tokens[0]?.length as number;
      const off = T - row.length;
      // Same operations in the same order on real tokens: exactly equal in f64 except summation
      // over masked keys, which contribute exact zeros. Allow 1e-12 for safety.
      expect(
        maxAbsDiff(right.forward.logits.subarray(b * T * V, (b * T + row.length) * V), alone),
      ).toBeLessThan(1e-12);
      expect(
        maxAbsDiff(left.forward.logits.subarray((b * T + off) * V, (b + 1) * T * V), alone),
      ).toBeLessThan(1e-12);
    }
    expect(maxAbsDiff(right.sequence, left.sequence)).toBeLessThan(1e-12);
    for (const v of right.tokens) expect(v).toBeLessThanOrEqual(0);
  });

  it("refuses sequences longer than max_position_embeddings and bad ids", () => {
    const small = { ...c, maxPositionEmbeddings: 4 };
    const p = params(c, 1);
    let err: unknown;
    try {
      referenceForward(small, p, { tokens: [[1, 2, 3, 4, 5]] });
    } catch (e) {
      err = e;
    }
    expect((err as ModelError).code).toBe("SEQUENCE_TOO_LONG");
    expect(() => referenceForward(c, p, { tokens: [[1, c.vocabSize]] })).toThrow(ModelError);
  });
});
