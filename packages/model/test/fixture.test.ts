import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  CharTokenizer,
  loadModelDir,
  referenceForward,
  referenceSequenceLogProbs,
  referenceSequenceLogProbsBackward,
  refParamsFromWeights,
  type ScoredBatch,
} from "../src/index.js";
import { maxAbsDiff } from "./helpers.js";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "qwen2-tiny");

interface Expected {
  format_version: number;
  texts: [string, string][];
  input_ids: number[][];
  attention_mask: number[][];
  response_mask: number[][];
  position_ids: number[][];
  logits: number[];
  token_logprobs: number[];
  sequence_logprobs: number[];
  loss_weights: number[];
  grads: Record<string, number[]>;
}

const expected = JSON.parse(readFileSync(join(DIR, "expected.json"), "utf8")) as Expected;

// The fixture's weights are f32 values; both sides compute in float64 from them, so the only
// differences are float64 rounding in different operation orders (~1e-13). 1e-9 leaves ample
// margin while still catching any real mismatch (a wrong RoPE pair or mask shifts logits by ≫1e-3).
const TOL = 1e-9;

describe("PyTorch fixture qwen2-tiny (independent implementation)", () => {
  it("has the expected format version", () => {
    expect(expected.format_version).toBe(1);
  });

  const model = loadModelDir(DIR);
  const batch: ScoredBatch = {
    tokens: expected.input_ids,
    attentionMask: expected.attention_mask,
    responseMask: expected.response_mask,
  };

  it("loads config, weights and the character tokenizer", () => {
    expect(model.config.modelType).toBe("qwen2");
    expect(model.config.qkvBias).toBe(true);
    expect(model.config.tieWordEmbeddings).toBe(true);
    expect(model.config.numKvHeads).toBe(2);
    expect(model.tokenizer).toBeInstanceOf(CharTokenizer);
    const tok = model.tokenizer as CharTokenizer;
    expect(tok.vocabSize).toBe(35);
    for (let b = 0; b < expected.texts.length; b++) {
      const [p, r] = expected.texts[b] as [string, string];
      const ids = tok.encode(p + r);
      const row = (expected.input_ids[b] as number[]).filter((_, t) => expected.attention_mask[b]?.[t] === 1);
      expect(ids).toEqual(row);
    }
  });

  it("f64 reference logits match within 1e-9 on real tokens", () => {
    const p = refParamsFromWeights(model.config, model.weights);
    const fwd = referenceForward(model.config, p, batch);
    const V = model.config.vocabSize;
    const T = fwd.T;
    let worst = 0;
    for (let b = 0; b < fwd.B; b++) {
      for (let t = 0; t < T; t++) {
        if (expected.attention_mask[b]?.[t] !== 1) continue;
        const o = (b * T + t) * V;
        worst = Math.max(worst, maxAbsDiff(fwd.logits.subarray(o, o + V), expected.logits.slice(o, o + V)));
      }
    }
    expect(worst).toBeLessThan(TOL);
  });

  it("sequence and token log-probs match, and the gradient of every parameter matches torch autograd", () => {
    const p = refParamsFromWeights(model.config, model.weights);
    const res = referenceSequenceLogProbs(model.config, p, batch);
    expect(maxAbsDiff(res.sequence, expected.sequence_logprobs)).toBeLessThan(TOL);
    expect(maxAbsDiff(res.tokens, expected.token_logprobs)).toBeLessThan(TOL);
    const grads = referenceSequenceLogProbsBackward(model.config, p, batch, res, expected.loss_weights);
    expect(Object.keys(grads).sort()).toEqual(Object.keys(expected.grads).sort());
    for (const [name, g] of Object.entries(expected.grads)) {
      const mine = grads[name] as Float64Array;
      const scale = Math.max(1, ...g.map(Math.abs));
      expect(maxAbsDiff(mine, g) / scale, name).toBeLessThan(TOL);
    }
  });
});
