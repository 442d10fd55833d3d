/**
 * The device training step: `forwardTrainOnDevice` → `dpoStep` (kernels) → `backward(tensor)`,
 * with no host read until the per-pair values, against the float64 reference model and the
 * float64 DPO step reference (`dpoStepRef`, itself checked by central differences in the kernels
 * package).
 */
import { type DpoStepOptions, dpoStep, dpoStepRef, type GpuContext } from "@sage/kernels-webgpu";
import { createTestContext, expectClean } from "@sage/kernels-webgpu/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  initWeights,
  ModelError,
  Policy,
  packPromptResponse,
  parameterSpecs,
  referenceForward,
  referenceSequenceLogProbs,
  referenceSequenceLogProbsBackward,
  refParamsFromWeights,
} from "../src/index.js";
import { tinyQwen2Config, WIDE_INIT } from "../src/testing.js";
import { expectClose } from "./helpers.js";

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx?.destroy());

const c = tinyQwen2Config(); // gpu-policy.test.ts's qwen2 config
const w = initWeights(c, 11, WIDE_INIT);
// Two pairs: rows 0, 1 chosen; rows 2, 3 rejected (the trainer's layout).
const batch = packPromptResponse(
  [
    { prompt: [1, 2, 3], response: [4, 5, 6] },
    { prompt: [2], response: [7, 8] },
    { prompt: [1, 2, 3], response: [9] },
    { prompt: [2], response: [10, 11, 12, 4] },
  ],
  0,
  "right",
);
const counts = [3, 2, 1, 4];

describe("device DPO step (no host round-trip)", () => {
  it("forwardTrainOnDevice: sums, counts and TRL logit sums match the float64 reference model", async () => {
    const p = Policy.create(ctx, c, w, { lmHeadChunkBytes: 5 * 4 * c.vocabSize }); // 5-row LM-head chunks
    try {
      const rp = refParamsFromWeights(c, w);
      const rs = referenceSequenceLogProbs(c, rp, batch);
      const reads = ctx.readCount;
      const fwd = await p.forwardTrainOnDevice(batch);
      expect(ctx.readCount - reads).toBe(0);
      const [sums, cnt, lg] = [await fwd.sums.read(), await fwd.counts.read(), await fwd.logitSums.read()];
      fwd.release();
      expectClose(sums, rs.sequence, "sequence sums");
      expect([...cnt]).toEqual(counts);
      // Σ over scored rows (row b·T + t − 1 predicts token t) of the mean logit over the vocabulary.
      const ref = referenceForward(c, rp, batch);
      const V = c.vocabSize;
      const want = new Float64Array(4);
      for (let b = 0; b < 4; b++) {
        for (let t = 1; t < ref.T; t++) {
          if (batch.responseMask[b]?.[t] !== 1) continue;
          let s = 0;
          for (let v = 0; v < V; v++) s += ref.logits[(b * ref.T + t - 1) * V + v] as number;
          want[b] = (want[b] as number) + s / V;
        }
      }
      expectClose(lg, want, "logit sums");
    } finally {
      p.destroy();
    }
    await expectClean(ctx);
  });

  const cases: DpoStepOptions[] = [
    { lossType: "sigmoid", beta: 0.5 },
    { lossType: "sigmoid", beta: 0.5, labelSmoothing: 0.2, nllWeight: 0.6 },
    { lossType: "robust", beta: 0.3, labelSmoothing: 0.1 },
    { lossType: "hinge", beta: 0.4, nllWeight: 1 },
    { lossType: "ipo", beta: 0.2 }, // TRL length normalisation (default for ipo)
  ];
  for (const opts of cases) {
    it(`gradients of every parameter match the float64 reference (${JSON.stringify(opts)})`, async () => {
      const p = Policy.create(ctx, c, w, { lmHeadChunkBytes: 4 * 4 * c.vocabSize });
      try {
        p.zeroGrad();
        const rp = refParamsFromWeights(c, w);
        const rs = referenceSequenceLogProbs(c, rp, batch);
        // reference log-probs away from the policy's so that margins are not 0
        const refSums = Float64Array.from(rs.sequence, (s, i) => s + [0.7, -0.4, -0.9, 0.5][i]!);
        const stepOpts = { ...opts, gradScale: 0.25 };
        const want = dpoStepRef(rs.sequence, counts, refSums, stepOpts);
        const reads = ctx.readCount;
        const fwd = await p.forwardTrainOnDevice(batch);
        const step = dpoStep(
          ctx,
          { sums: fwd.sums, counts: fwd.counts, logitSums: fwd.logitSums, ref: Float32Array.from(refSums) },
          stepOpts,
        );
        await p.backward(fwd, step.gradSums);
        expect(ctx.readCount - reads).toBe(0); // forward, loss and backward encoded without a read
        const values = await step.values.read();
        expect(ctx.readCount - reads).toBe(1);
        step.values.destroy();
        step.gradSums.destroy();
        expectClose(values.subarray(0, 2), want.losses, "losses");
        const grads = await p.readGrads();
        const rg = referenceSequenceLogProbsBackward(c, rp, batch, rs, want.gradSums);
        for (const s of parameterSpecs(c))
          expectClose(grads[s.name] as Float32Array, rg[s.name] as Float64Array, s.name);
      } finally {
        p.destroy();
      }
      await expectClean(ctx);
    });
  }

  it("the device backward equals the host backward for the same dSeq; reads counted", async () => {
    const dSeq = [0.5, -0.25, 1, -0.75];
    const host = Policy.create(ctx, c, w);
    const dev = Policy.create(ctx, c, w);
    try {
      host.zeroGrad();
      dev.zeroGrad();
      let reads = ctx.readCount;
      const f1 = await host.forwardTrain(batch);
      await host.backward(f1, dSeq);
      const hostReads = ctx.readCount - reads;
      // one LM-head chunk: log-probs, log-sum-exps and the finiteness flag
      expect(hostReads).toBe(3);
      reads = ctx.readCount;
      const f2 = await dev.forwardTrainOnDevice(batch);
      const g = ctx.tensor(Float32Array.from(dSeq), [4], "test:dSeq");
      await dev.backward(f2, g);
      g.destroy();
      expect(ctx.readCount - reads).toBe(0);
      const a = await host.readGrads();
      const b = await dev.readGrads();
      for (const s of parameterSpecs(c))
        expectClose(b[s.name] as Float32Array, a[s.name] as Float32Array, s.name, 1e-6);
      // activation recomputation on the device path: the same gradients again (accumulated: 2×)
      const f5 = await dev.forwardTrainOnDevice(batch, { recompute: true });
      const g5 = ctx.tensor(Float32Array.from(dSeq), [4], "test:dSeq");
      await dev.backward(f5, g5);
      g5.destroy();
      const b2 = await dev.readGrads();
      for (const s of parameterSpecs(c)) {
        const twice = Array.from(a[s.name] as Float32Array, (x) => 2 * x);
        expectClose(b2[s.name] as Float32Array, twice, `${s.name} (recompute)`, 1e-6);
      }
      // a dSeq tensor needs a device forward, and the right size
      const f3 = await dev.forwardTrain(batch);
      const g3 = ctx.tensor(new Float32Array(4), [4], "test:dSeq");
      await expect(dev.backward(f3, g3)).rejects.toThrow(ModelError);
      const f4 = await dev.forwardTrainOnDevice(batch);
      const g4 = ctx.tensor(new Float32Array(3), [3], "test:dSeq");
      await expect(dev.backward(f4, g4)).rejects.toThrow(/\[4\] f32/);
      await expect(dev.backward(f4, g3)).rejects.toThrow(ModelError); // released by the failed call
      g3.destroy();
      g4.destroy();
    } finally {
      host.destroy();
      dev.destroy();
    }
    await expectClean(ctx);
  });
});
