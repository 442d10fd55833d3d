import { join } from "node:path";
import { gradeResponse } from "@sage/eval-math";
import { dpoStepRef, type GpuContext } from "@sage/kernels-webgpu";
import { createTestContext, expectClean } from "@sage/kernels-webgpu/testing";
import {
  initWeights,
  Policy,
  packPromptResponse,
  referenceSequenceLogProbs,
  refParamsFromWeights,
} from "@sage/model";
import { tinyCharModel } from "@sage/model/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildOnPolicyPairs,
  curriculumSelector,
  type MetricsRecord,
  type PreferencePair,
  Rng,
  readMetrics,
  runDpo,
  runSft,
  StopController,
  WebGpuPolicy,
  webGpuSampler,
} from "../src/index.js";
import { tempDir } from "./helpers/data.js";
import { EpochSelector } from "./helpers/selectors.js";

// WebGPU: on a machine without a GPU this runs on lavapipe (see the root README); a missing
// adapter fails the test, it is never skipped.
let ctx: GpuContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx?.destroy());

const { tokenizer, config } = tinyCharModel();

function arithmeticPairs(n: number, seed: number): PreferencePair[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const a = rng.int(10);
    const b = rng.int(10);
    const wrong = (a + b + 1 + rng.int(8)) % 19;
    return {
      id: `q${i}`,
      prompt: `${a}+${b}=`,
      chosen: String(a + b),
      rejected: String(wrong),
      difficulty: (a + b) / 18,
    };
  });
}

function deterministic(records: MetricsRecord[]): MetricsRecord[] {
  return records.map((r) =>
    Object.fromEntries(
      Object.entries(r).filter(([k]) => !k.startsWith("time/") && k !== "sage/scoring_time_share"),
    ),
  ) as MetricsRecord[];
}

async function weightsOf(p: Policy): Promise<number[]> {
  const out: number[] = [];
  for (const name of p.parameterNames) out.push(...((await ctx.read(p.param(name))) as Float32Array));
  return out;
}

describe("WebGpuPolicy (the @sage/model WebGPU policy behind PolicyLike)", () => {
  it("sequence log-probs match the float64 reference model; token dropout with ρ = 0 changes nothing", async () => {
    const weights = initWeights(config, 3);
    const policy = Policy.create(ctx, config, weights);
    const gpu = new WebGpuPolicy({ policy, tokenizer });
    try {
      const pairs = arithmeticPairs(5, 1);
      const lp = await gpu.sequenceLogProbs(pairs, {
        dropout: { k: 3, rho: 0, seed: 1, pairKeys: [0, 1, 2, 3, 4] },
      });
      const eos = [tokenizer.eosId];
      const rows = [
        ...pairs.map((p) => ({
          prompt: tokenizer.encode(p.prompt),
          response: [...tokenizer.encode(p.chosen, { addSpecialTokens: false }), ...eos],
        })),
        ...pairs.map((p) => ({
          prompt: tokenizer.encode(p.prompt),
          response: [...tokenizer.encode(p.rejected, { addSpecialTokens: false }), ...eos],
        })),
      ];
      const ref = referenceSequenceLogProbs(
        config,
        refParamsFromWeights(config, weights),
        packPromptResponse(rows, 0),
      );
      for (let i = 0; i < 5; i++) {
        // float32 GPU vs float64 CPU over ≤ 3 tokens of a 1-layer model: |error| ≲ 1e-5; 1e-4 leaves room.
        expect(Math.abs(lp.chosen[i]! - ref.sequence[i]!)).toBeLessThan(1e-4);
        expect(Math.abs(lp.rejected[i]! - ref.sequence[5 + i]!)).toBeLessThan(1e-4);
        expect(lp.chosenTokens[i]).toBe(rows[i]!.response.length);
        for (let j = 0; j < 3; j++) {
          expect(lp.chosenPerturbed![i * 3 + j]).toBe(lp.chosen[i]); // same float64 sum of the same f32 values
          expect(lp.rejectedPerturbed![i * 3 + j]).toBe(lp.rejected[i]);
        }
      }
    } finally {
      gpu.destroy();
      policy.destroy();
    }
    await expectClean(ctx);
  });

  it("runs DPO with the SAGE selector and resumes bit for bit on the GPU", async () => {
    const dir = await tempDir();
    const pairs = arithmeticPairs(24, 2);
    const cfg = {
      steps: 6,
      batchSize: 4,
      beta: 0.5,
      learningRate: 0.01,
      seed: 9,
      checkpointEvery: 2,
      scoringBatchSize: 16,
    };
    const sel = () => curriculumSelector("sage", { refreshEvery: 3, probeSize: 2, nStrata: 2 });
    const refCacheDir = join(dir, "ref");
    const run = async (runDir: string, initSeed: number, extra: object) => {
      const policy = Policy.create(ctx, config, initWeights(config, initSeed));
      const gpu = new WebGpuPolicy({ policy, tokenizer });
      try {
        const result = await runDpo({
          config: cfg,
          policy: gpu,
          selector: sel(),
          pairs,
          runDir,
          refCacheDir,
          log: () => {},
          ...extra,
        });
        return { result, weights: await weightsOf(policy) };
      } finally {
        gpu.destroy();
        policy.destroy();
      }
    };
    const straight = await run(join(dir, "a"), 5, {});
    expect(straight.result.status).toBe("completed");
    const m = await readMetrics(straight.result.metricsPath);
    expect(m[0]!.loss).toBeCloseTo(Math.LN2, 5); // step 1: policy = reference (f32 forward paths)
    expect(Number.isFinite(m.at(-1)!["sage/pool_size"])).toBe(true);

    const stop = new StopController();
    const first = await run(join(dir, "b"), 5, {
      stop,
      onStep: (r: MetricsRecord) => {
        if (r.step === 3) stop.request("test");
      },
    });
    expect(first.result).toMatchObject({ status: "interrupted", step: 3 });
    const resumed = await run(join(dir, "b"), 77, { resume: true }); // other init: state must come from the checkpoint
    expect(resumed.result).toMatchObject({ status: "completed", resumedFrom: 3, refSource: "cache" });
    expect(deterministic(await readMetrics(resumed.result.metricsPath))).toEqual(deterministic(m));
    expect(resumed.weights).toEqual(straight.weights);
    await expectClean(ctx);
  });

  it("samples on-policy pairs with the WebGPU policy (deterministic per seed)", async () => {
    const policy = Policy.create(ctx, config, initWeights(config, 4));
    try {
      const sampler = webGpuSampler(policy, tokenizer, { maxNewTokens: 1, temperature: 1, seed: 3 });
      const prompts = ["1+1=", "2+3="];
      expect(await sampler(prompts, 0)).toEqual(await sampler(prompts, 0));
      const problems = Array.from({ length: 8 }, (_, i) => ({
        id: `p${i}`,
        prompt: `${i}+1=`,
        answer: String(i + 1),
      }));
      const r = await buildOnPolicyPairs({ problems, sample: sampler, n: 12, seed: 1 });
      expect(r.stats.samples).toBe(96);
      // A random model over 14 tokens emits the right digit with p ≈ 1/14 per sample, so with
      // 12 samples about half the prompts get both a correct and a wrong answer (seeded).
      expect(r.pairs.length).toBeGreaterThan(0);
      for (const p of r.pairs) {
        const answer = problems.find((q) => p.id.startsWith(`${q.id}#`))!.answer;
        expect(gradeResponse(p.chosen, answer).correct).toBe(true);
        expect(gradeResponse(p.rejected, answer).correct).toBe(false);
        expect(p.difficulty).toBe(1 - r.passRates[p.id.split("#")[0]!]!);
      }
    } finally {
      policy.destroy();
    }
    await expectClean(ctx);
  });

  it("SFT on the WebGPU policy lowers the completion loss", async () => {
    const policy = Policy.create(ctx, config, initWeights(config, 6));
    const gpu = new WebGpuPolicy({ policy, tokenizer });
    try {
      const examples = arithmeticPairs(16, 4).map((p) => ({
        id: p.id,
        prompt: p.prompt,
        completion: p.chosen,
      }));
      const r = await runSft({
        config: { steps: 12, batchSize: 8, learningRate: 0.03, checkpointEvery: 12 },
        policy: gpu,
        examples,
        runDir: await tempDir(),
        log: () => {},
      });
      const m = await readMetrics(r.metricsPath);
      // Measured: 2.79 nats/token at init (uniform over 14 tokens would be ln 14 ≈ 2.64), 1.24 after
      // 12 AdamW steps at lr 0.03; the thresholds leave wide slack.
      expect(m[0]!.loss as number).toBeGreaterThan(2.3);
      expect(m.at(-1)!.loss as number).toBeLessThan((m[0]!.loss as number) - 0.4);
    } finally {
      gpu.destroy();
      policy.destroy();
    }
    await expectClean(ctx);
  });
});

describe("the DPO step on the GPU (accumulateDpoGradient)", () => {
  const cases = [
    { lossType: "sigmoid", labelSmoothing: 0.1, nllWeight: 0 },
    { lossType: "sigmoid", labelSmoothing: 0, nllWeight: 0.5 },
    { lossType: "hinge", labelSmoothing: 0, nllWeight: 0 },
    { lossType: "ipo", labelSmoothing: 0, nllWeight: 0.3 },
  ] as const;
  for (const c of cases) {
    it(`equals the host path with the float64 reference loss (${c.lossType}, ε=${c.labelSmoothing}, NLL weight ${c.nllWeight})`, async () => {
      const weights = initWeights(config, 8);
      const pa = Policy.create(ctx, config, weights);
      const pb = Policy.create(ctx, config, weights);
      const a = new WebGpuPolicy({ policy: pa, tokenizer });
      const b = new WebGpuPolicy({ policy: pb, tokenizer });
      try {
        const pairs = arithmeticPairs(5, 3);
        const ref = await a.sequenceLogProbs(pairs);
        // a reference away from the policy: margins ≠ 0
        const refChosen = ref.chosen.map((v, i) => v + 0.3 * Math.sin(i + 1));
        const refRejected = ref.rejected.map((v, i) => v - 0.2 * Math.cos(i));
        const loss = {
          refChosen,
          refRejected,
          beta: 0.5,
          lossType: c.lossType,
          labelSmoothing: c.labelSmoothing,
          lengthNormalize: c.lossType === "ipo",
          gradScale: 1 / 8,
          nllWeight: c.nllWeight,
        };
        const reads = ctx.readCount;
        const gpu = await a.accumulateDpoGradient(pairs, loss);
        expect(ctx.readCount - reads).toBe(1); // only the per-pair values
        let want: ReturnType<typeof dpoStepRef> | undefined;
        await b.accumulateGradient(pairs, (lp) => {
          want = dpoStepRef(
            [...lp.chosen, ...lp.rejected],
            [...lp.chosenTokens, ...lp.rejectedTokens],
            [...refChosen, ...refRejected],
            loss,
          );
          return { chosen: want.gradSums.subarray(0, 5), rejected: want.gradSums.subarray(5) };
        });
        // f32 device sums vs float64 host sums of the same f32 token log-probs (≤ 4 tokens of
        // magnitude ≤ 5): |Δ| ≲ 1e-6; losses have slope ≤ 2|dev|·β-scale ≲ 10 in them → 1e-4.
        for (let i = 0; i < 5; i++) {
          expect(Math.abs(gpu.losses[i]! - want!.losses[i]!)).toBeLessThan(1e-4);
          expect(Math.abs(gpu.chosenRewards[i]! - want!.chosenRewards[i]!)).toBeLessThan(1e-5);
          expect(Math.abs(gpu.chosen[i]! - ref.chosen[i]!)).toBeLessThan(1e-5);
          expect(gpu.chosenTokens[i]).toBe(ref.chosenTokens[i]);
          expect(Number.isFinite(gpu.chosenLogitSums![i]!)).toBe(true);
        }
        const ga = await a.readGradient();
        const gb = await b.readGradient();
        let err = 0;
        let scale = 0;
        for (let i = 0; i < ga.length; i++) {
          err = Math.max(err, Math.abs(ga[i]! - gb[i]!));
          scale = Math.max(scale, Math.abs(gb[i]!));
        }
        // same kernels after the loss; the loss gradients differ by f32 vs float64 sums (≲ 1e-6 relative)
        expect(scale).toBeGreaterThan(0);
        expect(err).toBeLessThanOrEqual(1e-4 * scale);
      } finally {
        a.destroy();
        b.destroy();
        pa.destroy();
        pb.destroy();
      }
      await expectClean(ctx);
    });
  }

  it("runDpo: one host read per micro-batch plus the optimiser's; TRL's logits/* metrics logged", async () => {
    const policy = Policy.create(ctx, config, initWeights(config, 12));
    const gpu = new WebGpuPolicy({ policy, tokenizer });
    const readsAt: number[] = [];
    const records: MetricsRecord[] = [];
    try {
      const result = await runDpo({
        config: {
          steps: 3,
          batchSize: 6,
          gradientAccumulation: 3,
          beta: 0.5,
          learningRate: 0.01,
          seed: 2,
          checkpointEvery: 100,
        },
        policy: gpu,
        selector: new EpochSelector(),
        pairs: arithmeticPairs(12, 7),
        runDir: await tempDir(),
        log: () => {},
        onStep: (r) => {
          readsAt.push(ctx.readCount);
          records.push(r);
        },
      });
      expect(result.status).toBe("completed");
    } finally {
      gpu.destroy();
      policy.destroy();
    }
    // steps 2 and 3: 3 micro-batches × 1 read (per-pair values) + 1 (AdamW's gradient norm)
    expect(readsAt[1]! - readsAt[0]!).toBe(4);
    expect(readsAt[2]! - readsAt[1]!).toBe(4);
    for (const r of records) {
      expect(Number.isFinite(r["logits/chosen"])).toBe(true);
      expect(Number.isFinite(r["logits/rejected"])).toBe(true);
    }
    await expectClean(ctx);
  });
});
