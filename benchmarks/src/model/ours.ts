/**
 * Measure `@sage/model` on the benchmark's GPU context: a float64-reference logits check first,
 * then training throughput (forward + backward + AdamW, GPU waited inside the timed region),
 * greedy sampling with the KV cache and with full recomputation, and peak GPU memory.
 */
import { dpoLossRef, dpoStep, type GpuContext } from "@sage/kernels-webgpu";
import {
  AdamW,
  createConfig,
  type GenerateResult,
  initWeights,
  type ModelConfig,
  Policy,
  packPromptResponse,
  parameterCount,
  Rng,
  referenceForward,
  refParamsFromWeights,
  type ScoredBatch,
} from "@sage/model";
import { trackAllocations } from "../lib/memory.js";
import { median, repeat, sig } from "../lib/timing.js";
import type { BenchConfig, SamplingPlan, StepPlan } from "./configs.js";

/** The model tests' bound for GPU vs float64 logits: f32 rounding through the layers. */
export const LOGIT_RTOL = 3e-5;

export interface LogitCheck {
  ok: boolean;
  shape: string;
  checked: number;
  maxAbsErr: number;
  /** Allowed |GPU − float64|: LOGIT_RTOL · max(1, max |reference logit|). */
  tolerance: number;
  note?: string;
}

export interface TrainResult {
  tokensPerStep: number;
  /** The first (warm-up) step, pipeline compilation included. */
  firstStepMs: number;
  samplesMs: number[];
  medianMs: number;
  tokensPerS: number;
  /** Mean next-token NLL (nats) of every step, warm-up included (same batch every step). */
  losses: number[];
  lossFiniteAndDecreasing: boolean;
  note?: string;
}

export interface SampleTiming {
  ms: number[];
  medianMs: number;
  tokensPerS: number;
}

export interface SamplingResult {
  plan: SamplingPlan;
  kvCache: SampleTiming;
  fullRecompute?: SampleTiming;
  /** Full-recomputation time ÷ KV-cache time (same prompts, same new tokens). */
  kvSpeedup?: number;
  /** Greedy tokens with and without the cache are identical (the model's own invariant). */
  tokensAgree?: boolean;
  note?: string;
}

export interface MemoryResult {
  /** Parameters × 4 bytes (f32 weights). */
  weightBytes: number;
  /**
   * Most bytes of GPU buffers alive at once while creating the policy and optimizer and running
   * the check and every training step (weights, gradients, AdamW m and v, activations, LM-head
   * chunks, uniforms, staging).
   */
  trainPeakBytes: number;
  /** Bytes left allocated after training (weights, gradients, m, v). */
  residentBytes: number;
  /** Resident bytes + most bytes alive at once during sampling (KV caches, activations). */
  samplingPeakBytes: number;
  /** Live tensors (`ctx.liveTensors`) after training, for the record. */
  liveTensorsAfterTraining: number;
}

/** One way of running a DPO training step (see {@link DpoStepBench}). */
export interface DpoStepPath {
  /** Timed steps (forward, loss, backward, AdamW; GPU waited inside each). */
  samplesMs: number[];
  medianMs: number;
  /** Device-to-host reads per step (`ctx.readCount`; every step has the same count). */
  readsPerStep: number;
  /** Mean DPO loss of every step, warm-up included. */
  losses: number[];
}

/**
 * The DPO step before and after issue 11 item 3, on the same batch (`batch / 2` pairs, chosen rows
 * first), same weights, steps interleaved host/device so that load drifts hit both alike:
 * `host` is the previous trainer path (per-token log-probs read back, sequence sums and the sigmoid
 * DPO loss on the CPU, `dSeq` uploaded for the backward); `device` keeps log-probs, sums, the loss
 * and its gradient on the GPU (`forwardTrainOnDevice` → `dpoStep` → `backward(tensor)`) and reads
 * only the per-pair values after the backward is encoded.
 */
export interface DpoStepBench {
  pairs: number;
  seqLen: number;
  beta: number;
  host: DpoStepPath;
  device: DpoStepPath;
  /** host median ÷ device median. */
  speedup: number;
  /** |mean loss host − device| over the steps (same math in f32 vs float64 sums). */
  maxLossDiff: number;
}

export interface OursResult {
  status: "ok" | "wrong" | "error";
  error?: string;
  parameters: number;
  check: LogitCheck;
  train?: TrainResult;
  dpoStep?: DpoStepBench;
  sampling?: SamplingResult;
  memory?: MemoryResult;
}

export interface OursOptions {
  steps: StepPlan;
  /** Time full recomputation too. */
  recompute: boolean;
  /** KV-cache sampling repetitions (timed; median). */
  samplingReps: number;
  seed: number;
  log: (s: string) => void;
}

export function modelConfig(bc: BenchConfig): ModelConfig {
  return createConfig(bc.model);
}

/** Token 1, then `seqLen − 1` random scored tokens per row (the same batch every step). */
export function trainBatch(c: ModelConfig, batch: number, seqLen: number, seed: number): ScoredBatch {
  const rng = new Rng(seed);
  return packPromptResponse(
    Array.from({ length: batch }, () => ({
      prompt: [1],
      response: Array.from({ length: seqLen - 1 }, () => rng.int(c.vocabSize)),
    })),
    0,
  );
}

function errMsg(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).slice(0, 500);
}

/** GPU logits vs `referenceForward` (float64, same f32 weights) on a small batch, every element. */
async function checkLogits(
  policy: Policy,
  c: ModelConfig,
  weights: ReturnType<typeof initWeights>,
  bc: BenchConfig,
  seed: number,
): Promise<LogitCheck> {
  const { batch, seqLen } = bc.check;
  const rng = new Rng(seed + 7);
  const tokens = Array.from({ length: batch }, () =>
    Array.from({ length: seqLen }, () => rng.int(c.vocabSize)),
  );
  const gpu = await policy.logits({ tokens });
  const ref = referenceForward(c, refParamsFromWeights(c, weights), { tokens }).logits;
  let maxRef = 0;
  let maxErr = 0;
  let nonFinite = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i] as number;
    const g = gpu[i] as number;
    if (!Number.isFinite(g)) nonFinite++;
    maxRef = Math.max(maxRef, Math.abs(r));
    maxErr = Math.max(maxErr, Math.abs(g - r));
  }
  const tolerance = LOGIT_RTOL * Math.max(1, maxRef);
  const ok = gpu.length === ref.length && nonFinite === 0 && maxErr <= tolerance;
  const out: LogitCheck = {
    ok,
    shape: `${batch}×${seqLen}×${c.vocabSize}`,
    checked: ref.length,
    maxAbsErr: sig(maxErr, 3),
    tolerance: sig(tolerance, 3),
  };
  if (!ok) {
    out.note =
      gpu.length !== ref.length
        ? `expected ${ref.length} logits, received ${gpu.length}`
        : nonFinite > 0
          ? `${nonFinite} non-finite GPU logits`
          : `max |GPU − float64| ${maxErr.toExponential(2)} > tolerance ${tolerance.toExponential(2)}`;
  }
  return out;
}

async function train(
  ctx: GpuContext,
  policy: Policy,
  opt: AdamW,
  batch: ScoredBatch,
  plan: StepPlan,
  log: (s: string) => void,
): Promise<TrainResult> {
  const losses: number[] = [];
  const step = async () => {
    const f = await policy.forwardTrain(batch);
    let sum = 0;
    for (const s of f.sequence) sum += s;
    losses.push(-sum / f.scoredTokens);
    await opt.backward(
      f,
      batch.tokens.map(() => -1 / f.scoredTokens),
    );
    await ctx.sync(); // every step's GPU work finishes inside its timed region
  };
  const tokensPerStep = batch.tokens.length * (batch.tokens[0]?.length ?? 0);
  let firstStepMs = 0;
  let note: string | undefined;
  let samplesMs: number[];
  {
    const t0 = performance.now();
    await step();
    firstStepMs = performance.now() - t0;
    log(`    first step (pipeline compiles included): ${(firstStepMs / 1000).toFixed(1)} s`);
  }
  if (firstStepMs > plan.warmupCapMs) {
    samplesMs = [firstStepMs];
    note =
      `the first step took ${(firstStepMs / 1000).toFixed(0)} s (> ${plan.warmupCapMs / 1000} s): ` +
      "no further step was run; its time (pipeline compilation included) is the only sample";
  } else {
    samplesMs = await repeat(step, {
      warmup: Math.max(0, plan.warmup - 1),
      minReps: plan.minSteps,
      maxReps: plan.maxSteps,
      budgetMs: plan.budgetMs,
      capMs: Number.POSITIVE_INFINITY,
    });
  }
  const med = median(samplesMs);
  const first = losses[0] ?? Number.NaN;
  const last = losses[losses.length - 1] ?? Number.NaN;
  const out: TrainResult = {
    tokensPerStep,
    firstStepMs: sig(firstStepMs),
    samplesMs: samplesMs.map((x) => sig(x)),
    medianMs: sig(med),
    tokensPerS: sig(tokensPerStep / (med / 1000)),
    losses: losses.map((x) => sig(x, 6)),
    lossFiniteAndDecreasing: losses.length >= 2 && losses.every(Number.isFinite) && last < first,
  };
  if (note) out.note = note;
  return out;
}

/** Timed DPO steps per config (each path; after one untimed warm-up step each). */
const DPO_STEPS: Record<BenchConfig["id"], number> = { "1m": 7, "10m": 3, "100m": 1 };

async function dpoSteps(
  ctx: GpuContext,
  c: ModelConfig,
  weights: ReturnType<typeof initWeights>,
  bc: BenchConfig,
  seed: number,
): Promise<DpoStepBench> {
  const rows = Math.max(2, bc.batch - (bc.batch % 2));
  const batch = trainBatch(c, rows, bc.seqLen, seed + 3);
  const n = rows / 2;
  const beta = 0.1;
  const policies = { host: Policy.create(ctx, c, weights), device: Policy.create(ctx, c, weights) };
  const opts = {
    host: new AdamW(policies.host, { lr: 1e-3 }),
    device: new AdamW(policies.device, { lr: 1e-3 }),
  };
  try {
    // reference = the starting weights, shifted so that margins are not 0
    const ref = Float64Array.from((await policies.host.sequenceLogProbs(batch)).sequence, (v, i) =>
      i < n ? v - 0.5 : v + 0.5,
    );
    const ref32 = Float32Array.from(ref);
    const losses = { host: [] as number[], device: [] as number[] };
    const reads = { host: [] as number[], device: [] as number[] };
    const steps = {
      host: async () => {
        const p = policies.host;
        const f = await p.forwardTrain(batch);
        const d = dpoLossRef(
          f.sequence.subarray(0, n),
          f.sequence.subarray(n),
          ref.subarray(0, n),
          ref.subarray(n),
          {
            beta,
          },
        );
        await p.backward(f, [...d.gradChosen, ...d.gradRejected]);
        losses.host.push(d.metrics.loss);
        await opts.host.tryStep();
      },
      device: async () => {
        const p = policies.device;
        const f = await p.forwardTrainOnDevice(batch);
        const s = dpoStep(
          ctx,
          { sums: f.sums, counts: f.counts, logitSums: f.logitSums, ref: ref32 },
          { beta },
        );
        await p.backward(f, s.gradSums);
        const v = (await ctx.read(s.values)) as Float32Array;
        ctx.flush();
        s.values.destroy();
        s.gradSums.destroy();
        let sum = 0;
        for (let i = 0; i < n; i++) sum += v[i] as number;
        losses.device.push(sum / n);
        await opts.device.tryStep();
      },
    };
    const samples = { host: [] as number[], device: [] as number[] };
    const count = DPO_STEPS[bc.id];
    for (let i = 0; i <= count; i++) {
      for (const path of ["host", "device"] as const) {
        const r0 = ctx.readCount;
        const t0 = performance.now();
        await steps[path]();
        await ctx.sync(); // the step's GPU work finishes inside its timed region
        const ms = performance.now() - t0;
        reads[path].push(ctx.readCount - r0);
        if (i > 0) samples[path].push(ms); // step 0: pipeline compiles
      }
    }
    const path = (k: "host" | "device"): DpoStepPath => {
      const r = reads[k];
      if (r.some((x) => x !== r[0])) throw new Error(`${k} DPO steps read back ${r.join(", ")} times`);
      return {
        samplesMs: samples[k].map((x) => sig(x)),
        medianMs: sig(median(samples[k])),
        readsPerStep: r[0] as number,
        losses: losses[k].map((x) => sig(x, 6)),
      };
    };
    const host = path("host");
    const device = path("device");
    return {
      pairs: n,
      seqLen: bc.seqLen,
      beta,
      host,
      device,
      speedup: sig(median(samples.host) / median(samples.device), 3),
      maxLossDiff: sig(Math.max(...losses.host.map((x, i) => Math.abs(x - (losses.device[i] as number)))), 2),
    };
  } finally {
    opts.host.destroy();
    opts.device.destroy();
    policies.host.destroy();
    policies.device.destroy();
  }
}

async function timeGenerate(
  policy: Policy,
  prompts: number[][],
  plan: SamplingPlan,
  useCache: boolean,
  reps: number,
): Promise<{ timing: SampleTiming; result: GenerateResult }> {
  // Warm-up: compile the pipelines of the prefill and decode (or full-forward) paths.
  await policy.generate(prompts, { maxNewTokens: 2, stopTokenIds: [], useCache });
  let result: GenerateResult | undefined;
  const ms = await repeat(
    async () => {
      // generate() reads back every step's logits, so the GPU is waited for inside the region.
      result = await policy.generate(prompts, { maxNewTokens: plan.newTokens, stopTokenIds: [], useCache });
    },
    { warmup: 0, minReps: 1, maxReps: reps, budgetMs: 0, capMs: Number.POSITIVE_INFINITY },
  );
  const med = median(ms);
  return {
    timing: {
      ms: ms.map((x) => sig(x)),
      medianMs: sig(med),
      tokensPerS: sig((plan.prompts * plan.newTokens) / (med / 1000)),
    },
    result: result as GenerateResult,
  };
}

async function sample(
  policy: Policy,
  c: ModelConfig,
  plan: SamplingPlan,
  o: OursOptions,
): Promise<SamplingResult> {
  const rng = new Rng(o.seed + 13);
  const prompts = Array.from({ length: plan.prompts }, () =>
    Array.from({ length: plan.promptLen }, () => 4 + rng.int(c.vocabSize - 4)),
  );
  const kv = await timeGenerate(policy, prompts, plan, true, o.samplingReps);
  o.log(
    `    KV cache: ${kv.timing.tokensPerS.toFixed(0)} tokens/s (${plan.prompts} prompts × ${plan.newTokens} new tokens in ${(kv.timing.medianMs / 1000).toFixed(2)} s)`,
  );
  const out: SamplingResult = { plan, kvCache: kv.timing };
  if (!o.recompute) {
    out.note = "full recomputation not timed for this config (--recompute)";
    return out;
  }
  const full = await timeGenerate(policy, prompts, plan, false, 1);
  out.fullRecompute = full.timing;
  out.kvSpeedup = sig(full.timing.medianMs / kv.timing.medianMs, 3);
  out.tokensAgree = JSON.stringify(full.result.tokens) === JSON.stringify(kv.result.tokens);
  o.log(
    `    full recomputation: ${full.timing.tokensPerS.toFixed(1)} tokens/s → KV-cache speed-up ${out.kvSpeedup}×` +
      (out.tokensAgree ? "" : " (greedy tokens DIFFER between the two paths)"),
  );
  return out;
}

/** Run one configuration end to end; frees everything it created. */
export async function runOurs(ctx: GpuContext, bc: BenchConfig, o: OursOptions): Promise<OursResult> {
  const c = modelConfig(bc);
  const parameters = parameterCount(c);
  const res: OursResult = {
    status: "ok",
    parameters,
    check: { ok: false, shape: "", checked: 0, maxAbsErr: Number.NaN, tolerance: Number.NaN },
  };
  let policy: Policy | undefined;
  let opt: AdamW | undefined;
  try {
    const weights = initWeights(c, o.seed);
    const tracked = await trackAllocations(ctx, async () => {
      policy = Policy.create(ctx, c, weights);
      res.check = await checkLogits(policy, c, weights, bc, o.seed);
      o.log(
        `    logits vs float64 (${res.check.shape}): ${res.check.ok ? "ok" : "WRONG"} ` +
          `(max |err| ${res.check.maxAbsErr.toExponential(1)}, tolerance ${res.check.tolerance.toExponential(1)})`,
      );
      if (!res.check.ok) return;
      opt = new AdamW(policy, { lr: 1e-3 });
      res.train = await train(
        ctx,
        policy,
        opt,
        trainBatch(c, bc.batch, bc.seqLen, o.seed + 1),
        o.steps,
        o.log,
      );
      o.log(
        `    training: ${res.train.tokensPerS.toFixed(0)} tokens/s (median of ${res.train.samplesMs.length} steps, ` +
          `${(res.train.medianMs / 1000).toFixed(2)} s/step); loss ${res.train.losses[0]?.toFixed(3)} → ` +
          `${res.train.losses[res.train.losses.length - 1]?.toFixed(3)}`,
      );
    });
    if (!res.check.ok || !policy) {
      res.status = "wrong";
      return res;
    }
    const liveTensorsAfterTraining = ctx.liveTensors;
    const p = policy;
    const samp = await trackAllocations(ctx, () => sample(p, c, bc.sampling, o));
    res.sampling = samp.value;
    res.dpoStep = await dpoSteps(ctx, c, weights, bc, o.seed);
    o.log(
      `    DPO step (${res.dpoStep.pairs} pairs × T ${res.dpoStep.seqLen}): host loss path ${(res.dpoStep.host.medianMs / 1000).toFixed(2)} s, ` +
        `${res.dpoStep.host.readsPerStep} reads/step → on the GPU ${(res.dpoStep.device.medianMs / 1000).toFixed(2)} s, ` +
        `${res.dpoStep.device.readsPerStep} reads/step (${res.dpoStep.speedup}×; median of ${res.dpoStep.device.samplesMs.length})`,
    );
    res.memory = {
      weightBytes: 4 * parameters,
      trainPeakBytes: tracked.report.peakBytes,
      residentBytes: tracked.report.retainedBytes,
      samplingPeakBytes: tracked.report.retainedBytes + samp.report.peakBytes,
      liveTensorsAfterTraining,
    };
  } catch (e) {
    res.status = "error";
    res.error = errMsg(e);
    o.log(`    ERROR: ${res.error}`);
  } finally {
    opt?.destroy();
    policy?.destroy();
  }
  return res;
}
