import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { GpuContext } from "@sage/kernels-webgpu";
import { createTestContext, expectClean } from "@sage/kernels-webgpu/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createConfig,
  initWeights,
  loadModelDir,
  type ModelConfig,
  ModelError,
  Policy,
  packPromptResponse,
  parameterSpecs,
  referenceForward,
  referenceSequenceLogProbs,
  referenceSequenceLogProbsBackward,
  refParamsFromWeights,
  type ScoredBatch,
} from "../src/index.js";
import { tinyLlamaConfig, tinyQwen2Config, WIDE_INIT } from "../src/testing.js";
import { expectClose } from "./helpers.js";

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx?.destroy());

const configs: [string, ModelConfig][] = [
  ["llama, untied, MHA", tinyLlamaConfig()],
  ["qwen2, tied, GQA 4→2, QKV bias", tinyQwen2Config()],
];

describe.each(configs)("GPU policy vs f64 reference (%s)", (_n, c) => {
  const w = initWeights(c, 7, WIDE_INIT);
  const pairs = [
    { prompt: [1, 2, 3], response: [4, 5, 6] },
    { prompt: [2], response: [7, 8] },
    { prompt: [3, 3, 9, 1], response: [10] },
  ];
  const left = packPromptResponse(pairs, 0, "left");
  const right = packPromptResponse(pairs, 0, "right");

  it("logits and sequence log-probs match (left and right padding; LM head in 1 or many chunks)", async () => {
    const rp = refParamsFromWeights(c, w);
    for (const chunkRows of [undefined, 5]) {
      const p = Policy.create(ctx, c, w, chunkRows ? { lmHeadChunkBytes: chunkRows * 4 * c.vocabSize } : {});
      try {
        for (const batch of [left, right]) {
          const ref = referenceForward(c, rp, batch);
          const lg = await p.logits(batch);
          // Padding rows are outside the contract; compare real positions only.
          const V = c.vocabSize;
          const T = ref.T;
          const a: number[] = [];
          const e: number[] = [];
          for (let b = 0; b < ref.B; b++) {
            for (let t = 0; t < T; t++) {
              if (batch.attentionMask?.[b]?.[t] !== 1) continue;
              for (let v = 0; v < V; v++) {
                a.push(lg[(b * T + t) * V + v] as number);
                e.push(ref.logits[(b * T + t) * V + v] as number);
              }
            }
          }
          expectClose(a, e, "logits");
          const s = await p.sequenceLogProbs(batch);
          const rs = referenceSequenceLogProbs(c, rp, batch);
          expectClose(s.sequence, rs.sequence, "sequence log-probs");
          expectClose(s.tokens, rs.tokens, "token log-probs");
        }
      } finally {
        p.destroy();
      }
    }
    await expectClean(ctx);
  });

  it("gradients of every parameter match (LM head chunked by 4 rows)", async () => {
    const p = Policy.create(ctx, c, w, { lmHeadChunkBytes: 4 * 4 * c.vocabSize });
    try {
      p.zeroGrad();
      const dSeq = [1, -0.5, 0.25];
      const fwd = await p.forwardTrain(left);
      const rp = refParamsFromWeights(c, w);
      const rs = referenceSequenceLogProbs(c, rp, left);
      expectClose(fwd.sequence, rs.sequence, "forwardTrain sequence log-probs");
      expect(fwd.scoredTokens).toBe(6);
      await p.backward(fwd, dSeq);
      await expect(p.backward(fwd, dSeq)).rejects.toThrow(ModelError);
      const bad = await p.forwardTrain(left);
      await expect(p.backward(bad, [1, Number.NaN, 0])).rejects.toThrow(ModelError);
      await expect(p.backward(bad, dSeq)).rejects.toThrow(ModelError); // released by the failed call
      const grads = await p.readGrads();
      const rg = referenceSequenceLogProbsBackward(c, rp, left, rs, dSeq);
      for (const s of parameterSpecs(c))
        expectClose(grads[s.name] as Float32Array, rg[s.name] as Float64Array, s.name);
      // Accumulation: a second backward adds the same gradient again.
      const f2 = await p.forwardTrain(left);
      await p.backward(f2, dSeq);
      const g2 = await p.readGrads();
      const name = "model.layers.1.mlp.down_proj.weight";
      expectClose(
        g2[name] as Float32Array,
        Array.from(rg[name] as Float64Array, (x) => 2 * x),
        "accumulated",
      );
    } finally {
      p.destroy();
    }
    await expectClean(ctx);
  });
});

describe("GPU policy on the PyTorch fixture", () => {
  it("matches torch logits and sequence log-probs within 1e-4, and every gradient", async () => {
    const dir = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "qwen2-tiny");
    const e = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8"));
    const m = loadModelDir(dir);
    const batch: ScoredBatch = {
      tokens: e.input_ids,
      attentionMask: e.attention_mask,
      responseMask: e.response_mask,
    };
    const p = Policy.create(ctx, m.config, m.weights, { trainable: false });
    try {
      const lg = await p.logits(batch);
      const V = m.config.vocabSize;
      const T = e.input_ids[0].length;
      let worst = 0;
      for (let b = 0; b < e.input_ids.length; b++) {
        for (let t = 0; t < T; t++) {
          if (e.attention_mask[b][t] !== 1) continue;
          for (let v = 0; v < V; v++) {
            const i = (b * T + t) * V + v;
            worst = Math.max(worst, Math.abs((lg[i] as number) - e.logits[i]));
          }
        }
      }
      expect(worst).toBeLessThan(1e-4);
      const s = await p.sequenceLogProbs(batch);
      for (let b = 0; b < 3; b++)
        expect(Math.abs((s.sequence[b] as number) - e.sequence_logprobs[b])).toBeLessThan(1e-4);
    } finally {
      p.destroy();
    }
    // Gradients of Σ_b w_b·seq_b straight against torch autograd (independent of our reference).
    const t = Policy.create(ctx, m.config, m.weights);
    try {
      const fwd = await t.forwardTrain(batch);
      await t.backward(fwd, e.loss_weights);
      const grads = await t.readGrads();
      for (const [name, g] of Object.entries(e.grads as Record<string, number[]>)) {
        expectClose(grads[name] as Float32Array, g, `torch grad ${name}`);
      }
    } finally {
      t.destroy();
    }
    await expectClean(ctx);
  });
});

describe("device constraints", () => {
  it("refuses a head_dim the attention kernel cannot run, before allocating", async () => {
    const c = createConfig({ hiddenSize: 12, intermediateSize: 8, numLayers: 1, numHeads: 2, vocabSize: 5 });
    let err: unknown;
    try {
      Policy.create(ctx, c, initWeights(c, 1));
    } catch (e) {
      err = e;
    }
    expect((err as ModelError).code).toBe("CONFIG_UNSUPPORTED");
    await expectClean(ctx);
  });
});

describe("frozen reference copy", () => {
  it("reproduces the policy, has no gradients, and does not move when the policy trains", async () => {
    const c = configs[1]?.[1] as ModelConfig;
    const w = initWeights(c, 3, { std: 0.3 });
    const batch = packPromptResponse([{ prompt: [1, 2], response: [3, 4] }], 0);
    const p = Policy.create(ctx, c, w);
    const ref = p.frozenCopy();
    try {
      const a = await p.sequenceLogProbs(batch);
      const b = await ref.sequenceLogProbs(batch);
      expect(Array.from(b.sequence)).toEqual(Array.from(a.sequence));
      await expect(ref.forwardTrain(batch)).rejects.toThrow(ModelError);
      expect(() => ref.grad("model.norm.weight")).toThrow(ModelError);
      // Change the policy's weights on the GPU; the reference keeps its own copy.
      ctx.write(p.param("model.norm.weight"), new Float32Array(c.hiddenSize).fill(2));
      const a2 = await p.sequenceLogProbs(batch);
      const b2 = await ref.sequenceLogProbs(batch);
      expect(a2.sequence[0]).not.toBe(a.sequence[0]);
      expect(Array.from(b2.sequence)).toEqual(Array.from(a.sequence));
    } finally {
      p.destroy();
      ref.destroy();
    }
    await expectClean(ctx);
  });
});
