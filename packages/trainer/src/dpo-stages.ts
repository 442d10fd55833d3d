import { dpoStepRef } from "@sage/kernels-webgpu";
import type { DpoTrainConfig } from "./config.js";
import type { PreferencePair } from "./data.js";
import { type LearningRateSchedule, learningRateAt } from "./dpo.js";
import { describeValue, TrainerError } from "./errors.js";
import {
  type BatchLogProbs,
  type DpoMicroBatchLoss,
  type DpoMicroBatchResult,
  dpoStepOptions,
  type PolicyLike,
  type SequenceLogProbs,
} from "./policy.js";
import type { Rng } from "./rng.js";
import type { ScoringRequest, TrainingSelector } from "./selector.js";

/*
 * The DPO loop as named stages, without a file or a process: `runDpo` (which adds the run folder —
 * reference cache, checkpoints, metrics log, signals, resume) and the browser playground call the
 * same functions. One optimiser step is `scoringRounds` → `trainStep`; before the first,
 * `referencePass` (unless the reference log-probs are known) and `startSelector`.
 */

/** Reference log-probs ℓref(y|x) of every pair, in data order; token counts when a policy computed them. */
export interface ReferenceLogProbs {
  readonly chosen: Float64Array;
  readonly rejected: Float64Array;
  readonly chosenTokens?: Uint32Array;
  readonly rejectedTokens?: Uint32Array;
}

/**
 * Checks a DPO run's inputs before anything runs: at least one pair, an `evaluate` hook when
 * `evalEvery` > 0, and `gradientAccumulation` ≥ 2 with a policy that has `readGradient` when
 * `gradSnrEvery` > 0. Throws `DATA_EMPTY` or `CONFIG_INVALID`.
 */
export function checkDpoRun(
  config: DpoTrainConfig,
  policy: PolicyLike,
  pairs: readonly PreferencePair[],
  hasEvaluate: boolean,
): void {
  if (pairs.length === 0)
    throw new TrainerError("DATA_EMPTY", "a DPO run needs at least one preference pair; received 0");
  if (config.evalEvery > 0 && !hasEvaluate) {
    throw new TrainerError("CONFIG_INVALID", `evalEvery = ${config.evalEvery} needs an evaluate hook`);
  }
  if (config.gradSnrEvery > 0 && (config.gradientAccumulation < 2 || !policy.readGradient)) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `gradSnrEvery = ${config.gradSnrEvery} needs gradientAccumulation ≥ 2 (received ${config.gradientAccumulation}) and a policy with readGradient`,
    );
  }
}

/**
 * The reference pass: sequence log-probs and token counts of all pairs under `policy` (the
 * reference model), `scoringBatchSize` pairs per forward pass. Throws `POLICY_INVALID` when a value
 * is not finite.
 */
export async function referencePass(
  policy: PolicyLike,
  pairs: readonly PreferencePair[],
  config: { readonly scoringBatchSize: number },
): Promise<Required<ReferenceLogProbs>> {
  const all = pairs.map((_, i) => i);
  const r = await scoreInChunks(policy, pairs, all, config.scoringBatchSize, null);
  if (!allFinite(r.chosen, r.rejected)) {
    throw new TrainerError("POLICY_INVALID", "reference log-probs contain non-finite values");
  }
  return {
    chosen: r.chosen,
    rejected: r.rejected,
    chosenTokens: r.chosenTokens,
    rejectedTokens: r.rejectedTokens,
  };
}

/** `selector.init` with the reference log-probs (and their token counts when known) and the run's RNG. */
export function startSelector(
  selector: TrainingSelector,
  pairs: readonly PreferencePair[],
  ref: ReferenceLogProbs,
  config: DpoTrainConfig,
  rng: Rng,
): void {
  selector.init({
    pairs,
    refChosen: ref.chosen,
    refRejected: ref.rejected,
    ...(ref.chosenTokens && ref.rejectedTokens
      ? { chosenTokens: ref.chosenTokens, rejectedTokens: ref.rejectedTokens }
      : {}),
    beta: config.beta,
    batchSize: config.batchSize,
    totalSteps: config.steps,
    rng,
  });
}

/** What the scoring passes of one step cost. */
export interface ScoringRoundsResult {
  /** Scoring requests answered. */
  readonly rounds: number;
  /** Wall time of their forward passes, in milliseconds (`performance.now`). */
  readonly ms: number;
}

/**
 * The scoring passes the selector asks for before step `step` (0-based): each request's pairs are
 * scored with the policy, `scoringBatchSize` per forward pass, with its token-dropout perturbations,
 * and handed back to `receiveScores` with their reference log-probs. Throws `SELECTION_INVALID` on
 * more than `maxScoringRounds` requests, an index outside the data or an unsupported perturbation.
 */
export async function scoringRounds(
  policy: PolicyLike,
  selector: TrainingSelector,
  pairs: readonly PreferencePair[],
  ref: ReferenceLogProbs,
  step: number,
  config: DpoTrainConfig,
): Promise<ScoringRoundsResult> {
  let rounds = 0;
  let ms = 0;
  for (let req = selector.nextScoringRequest(step); req; req = selector.nextScoringRequest(step)) {
    if (++rounds > config.maxScoringRounds) {
      throw new TrainerError(
        "SELECTION_INVALID",
        `selector ${selector.name} asked for more than maxScoringRounds = ${config.maxScoringRounds} scoring passes at step ${step}`,
      );
    }
    for (const i of req.indices) {
      if (!Number.isInteger(i) || i < 0 || i >= pairs.length) {
        throw new TrainerError(
          "SELECTION_INVALID",
          `scoring request index ${describeValue(i)} outside [0, ${pairs.length})`,
        );
      }
    }
    const ts = performance.now();
    const logps = await scoreInChunks(policy, pairs, req.indices, config.scoringBatchSize, req.perturbation);
    ms += performance.now() - ts;
    selector.receiveScores({
      request: req,
      logps,
      refChosen: Float64Array.from(req.indices, (i) => ref.chosen[i]!),
      refRejected: Float64Array.from(req.indices, (i) => ref.rejected[i]!),
    });
  }
  return { rounds, ms };
}

/** Why a step's update was skipped. */
export type NonFiniteKind = "loss or log-probs" | "gradient norm";

/**
 * A step's metrics with TRL's names (`loss`, `rewards/*`, `logps/*`, `logits/*` when the policy has
 * logits, `grad_norm`, `learning_rate`; `nll_loss` with `rpoAlpha` > 0), then `skipped`,
 * `batch_size`, `grad_snr` on SNR steps, and the selector's own metrics.
 */
export type DpoStepMetrics = Readonly<Record<string, number | boolean>>;

export interface DpoStepResult {
  /** The batch trained on (dataset indices, in the selector's order). */
  readonly indices: readonly number[];
  /** What was not finite when the update was skipped; undefined when it was applied. */
  readonly nonFinite: NonFiniteKind | undefined;
  readonly metrics: DpoStepMetrics;
}

/**
 * One optimiser step at step `step` (0-based): `selectBatch` (validated), then per micro-batch
 * (`gradientAccumulation` of them) the DPO (+ RPO NLL) loss and its gradient — on the policy's device
 * with `accumulateDpoGradient` when it has it, else `accumulateGradient` with the float64 `dpoStepRef`
 * of `@sage/kernels-webgpu` —, the gradient SNR on `gradSnrEvery` steps, then `optimizerStep`
 * (skipped when a loss or log-prob is not finite) and `observeTrained` when the update was applied.
 * ipo runs on per-token means (TRL), and so are its `logps/*`.
 */
export async function trainStep(
  policy: PolicyLike,
  selector: TrainingSelector,
  pairs: readonly PreferencePair[],
  ref: ReferenceLogProbs,
  step: number,
  config: DpoTrainConfig,
): Promise<DpoStepResult> {
  const indices = selectBatch(selector, step, pairs.length, config.batchSize);
  const n = indices.length;
  const micro = Math.ceil(n / config.gradientAccumulation);
  const lpChosen = new Float64Array(n);
  const lpRejected = new Float64Array(n);
  const tokChosen = new Uint32Array(n);
  const tokRejected = new Uint32Array(n);
  const losses = new Float64Array(n);
  const chosenRewards = new Float64Array(n);
  const rejectedRewards = new Float64Array(n);
  const logitSums = { chosen: 0, rejected: 0, have: true };
  const snrStep = config.gradSnrEvery > 0 && (step + 1) % config.gradSnrEvery === 0;
  const microGrads: { weight: number; g: Float64Array }[] = [];
  let nllLoss = 0;
  let previous: Float64Array | undefined;
  for (let s = 0; s < n; s += micro) {
    const idx = indices.slice(s, s + micro);
    const loss: DpoMicroBatchLoss = {
      refChosen: Float64Array.from(idx, (i) => ref.chosen[i]!),
      refRejected: Float64Array.from(idx, (i) => ref.rejected[i]!),
      beta: config.beta,
      lossType: config.lossType,
      labelSmoothing: config.labelSmoothing,
      lengthNormalize: config.lossType === "ipo", // TRL averages log-probs over the completion for ipo
      gradScale: 1 / n,
      nllWeight: (config.rpoAlpha * idx.length) / n,
    };
    const r = await accumulateMicroBatch(
      policy,
      idx.map((i) => pairs[i]!),
      loss,
    );
    checkLogps("policy.accumulateGradient", r, idx.length);
    lpChosen.set(r.chosen, s);
    lpRejected.set(r.rejected, s);
    tokChosen.set(r.chosenTokens, s);
    tokRejected.set(r.rejectedTokens, s);
    losses.set(r.losses, s);
    chosenRewards.set(r.chosenRewards, s);
    rejectedRewards.set(r.rejectedRewards, s);
    if (r.chosenLogitSums && r.rejectedLogitSums) {
      for (let j = 0; j < idx.length; j++) {
        logitSums.chosen += r.chosenLogitSums[j]!;
        logitSums.rejected += r.rejectedLogitSums[j]!;
      }
    } else logitSums.have = false;
    if (config.rpoAlpha > 0) {
      // α · (|micro| / n) · NLL_micro, NLL_micro = −Σ ℓθ(y_w) / Σ |y_w| (TRL's token mean)
      let sum = 0;
      let count = 0;
      for (let j = 0; j < idx.length; j++) {
        sum += r.chosen[j]!;
        count += r.chosenTokens[j]!;
      }
      nllLoss += ((count === 0 ? 0 : -sum / count) * idx.length) / n;
    }
    if (snrStep) {
      const total = Float64Array.from(await policy.readGradient!());
      // this micro-batch's own mean gradient: (G_j − G_{j−1}) · n / |micro-batch|
      const g = total.map((v, d) => ((v - (previous?.[d] ?? 0)) * n) / idx.length);
      microGrads.push({ weight: idx.length / n, g });
      previous = total;
    }
  }
  const inputsFinite = allFinite(losses, lpChosen, lpRejected);
  const update = await optimizerStep(policy, step, config, inputsFinite);
  const nonFinite: NonFiniteKind | undefined = update.applied
    ? undefined
    : inputsFinite
      ? "gradient norm"
      : "loss or log-probs";
  if (update.applied) {
    selector.observeTrained(step, indices, {
      chosen: lpChosen,
      rejected: lpRejected,
      chosenTokens: tokChosen,
      rejectedTokens: tokRejected,
    });
  }
  // the log-probs the loss saw: per-token means for ipo (TRL's logps/* then are means too)
  const perToken = config.lossType === "ipo";
  const lossLogps = (lp: Float64Array, tok: Uint32Array) =>
    perToken ? lp.map((v, j) => (tok[j]! === 0 ? 0 : v / tok[j]!)) : lp;
  let correct = 0;
  for (let j = 0; j < n; j++) if (chosenRewards[j]! > rejectedRewards[j]!) correct++;
  const snr = snrStep && update.applied && microGrads.length >= 2 ? gradientSnr(microGrads) : undefined;
  const metrics: DpoStepMetrics = {
    loss: mean(losses) + config.rpoAlpha * nllLoss,
    ...(config.rpoAlpha > 0 ? { nll_loss: nllLoss } : {}),
    "rewards/chosen": mean(chosenRewards),
    "rewards/rejected": mean(rejectedRewards),
    "rewards/margins": mean(chosenRewards) - mean(rejectedRewards),
    "rewards/accuracies": correct / n,
    "logps/chosen": mean(lossLogps(lpChosen, tokChosen)),
    "logps/rejected": mean(lossLogps(lpRejected, tokRejected)),
    ...(logitSums.have
      ? {
          "logits/chosen": logitSums.chosen / sum(tokChosen),
          "logits/rejected": logitSums.rejected / sum(tokRejected),
        }
      : {}),
    grad_norm: update.gradNorm,
    learning_rate: update.learningRate,
    skipped: !update.applied,
    batch_size: n,
    ...(snr !== undefined ? { grad_snr: snr } : {}),
    ...selector.metrics(),
  };
  return { indices, nonFinite, metrics };
}

/** What an optimiser step did. */
export interface OptimizerStepResult {
  /** `learningRateAt(step)` of the config's schedule. */
  readonly learningRate: number;
  /** The global gradient norm before clipping (NaN when the gradients were discarded unread). */
  readonly gradNorm: number;
  /** Whether the weights moved: the inputs and the gradient norm were finite. */
  readonly applied: boolean;
}

/** The parts of a loop config an optimiser step reads. */
export interface OptimizerStepConfig {
  readonly lrSchedule: LearningRateSchedule["type"];
  readonly learningRate: number;
  readonly warmupSteps: number;
  readonly steps: number;
  readonly maxGradNorm: number | null;
}

/**
 * The end of a training step, shared by the DPO and SFT loops: when `inputsFinite` (loss and
 * log-probs), `applyGradients` at the schedule's learning rate for step `step` (0-based) with
 * `maxGradNorm` clipping — the policy discards a non-finite gradient itself —, otherwise
 * `discardGradients`. Throws `POLICY_INVALID` when a policy reports a non-finite norm as applied.
 */
export async function optimizerStep(
  policy: {
    applyGradients(options: {
      readonly learningRate: number;
      readonly maxGradNorm: number | undefined;
    }): Promise<{ gradNorm: number; applied: boolean }>;
    discardGradients(): Promise<void>;
  },
  step: number,
  config: OptimizerStepConfig,
  inputsFinite: boolean,
): Promise<OptimizerStepResult> {
  const learningRate = learningRateAt(step, loopSchedule(config));
  if (!inputsFinite) {
    await policy.discardGradients();
    return { learningRate, gradNorm: Number.NaN, applied: false };
  }
  const r = await policy.applyGradients({ learningRate, maxGradNorm: config.maxGradNorm ?? undefined });
  if (!Number.isFinite(r.gradNorm) && r.applied) {
    throw new TrainerError("POLICY_INVALID", "policy.applyGradients applied a non-finite gradient");
  }
  return { learningRate, gradNorm: r.gradNorm, applied: r.applied && Number.isFinite(r.gradNorm) };
}

/** The learning-rate schedule of a loop's config. */
export function loopSchedule(config: {
  readonly lrSchedule: LearningRateSchedule["type"];
  readonly learningRate: number;
  readonly warmupSteps: number;
  readonly steps: number;
}): LearningRateSchedule {
  return {
    type: config.lrSchedule,
    peak: config.learningRate,
    warmupSteps: config.warmupSteps,
    totalSteps: config.steps,
  };
}

/**
 * Gradient signal-to-noise ratio of a batch from its micro-batch gradients (spec):
 * `SNR = ‖ḡ‖² / ((1/M) Σ_j ‖g_j − ḡ‖²)`, ḡ the batch gradient (micro-batch means weighted by size).
 */
export function gradientSnr(
  micro: readonly { readonly weight: number; readonly g: ArrayLike<number> }[],
): number {
  const dim = micro[0]?.g.length ?? 0;
  const mean = new Float64Array(dim);
  for (const { weight, g } of micro) for (let d = 0; d < dim; d++) mean[d] = mean[d]! + weight * g[d]!;
  let signal = 0;
  for (let d = 0; d < dim; d++) signal += mean[d]! * mean[d]!;
  let noise = 0;
  for (const { g } of micro) for (let d = 0; d < dim; d++) noise += (g[d]! - mean[d]!) ** 2;
  noise /= micro.length;
  return noise === 0 ? Number.POSITIVE_INFINITY : signal / noise;
}

/** `selector.selectBatch`, checked: 1..`batchSize` distinct indices into the data, else `SELECTION_INVALID`. */
function selectBatch(
  selector: TrainingSelector,
  step: number,
  pairCount: number,
  batchSize: number,
): number[] {
  const indices = [...selector.selectBatch(step, batchSize)];
  const seen = new Set<number>();
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= pairCount || seen.has(i)) {
      throw new TrainerError(
        "SELECTION_INVALID",
        `selector ${selector.name} returned index ${describeValue(i)} at step ${step}; expected distinct integers in [0, ${pairCount})`,
      );
    }
    seen.add(i);
  }
  if (indices.length === 0 || indices.length > batchSize) {
    throw new TrainerError(
      "SELECTION_INVALID",
      `selector ${selector.name} returned ${indices.length} pairs at step ${step}; expected 1..${batchSize}`,
    );
  }
  return indices;
}

/** Score `pairs[indices]` in chunks of `chunk` with the policy, concatenating the results. */
async function scoreInChunks(
  policy: PolicyLike,
  pairs: readonly PreferencePair[],
  indices: readonly number[],
  chunk: number,
  perturbation: ScoringRequest["perturbation"],
): Promise<SequenceLogProbs> {
  const n = indices.length;
  const dropout = perturbation?.kind === "token-dropout" ? perturbation : undefined;
  if (perturbation?.kind === "policy-dropout") {
    throw new TrainerError(
      "SELECTION_INVALID",
      "policy-dropout perturbations (K forward passes with dropout inside the policy) are not supported by the trainer yet; use token-dropout or history",
    );
  }
  const k = dropout?.k ?? 0;
  const out = {
    chosen: new Float64Array(n),
    rejected: new Float64Array(n),
    chosenTokens: new Uint32Array(n),
    rejectedTokens: new Uint32Array(n),
    chosenPerturbed: dropout ? new Float64Array(n * k) : undefined,
    rejectedPerturbed: dropout ? new Float64Array(n * k) : undefined,
  };
  for (let s = 0; s < n; s += chunk) {
    const idx = indices.slice(s, s + chunk);
    const batch = idx.map((i) => pairs[i]!);
    const r = await policy.sequenceLogProbs(
      batch,
      dropout
        ? { dropout: { k: dropout.k, rho: dropout.rho, seed: dropout.seed, pairKeys: idx } }
        : undefined,
    );
    checkLogps("policy.sequenceLogProbs", r, idx.length);
    out.chosen.set(r.chosen, s);
    out.rejected.set(r.rejected, s);
    out.chosenTokens.set(r.chosenTokens, s);
    out.rejectedTokens.set(r.rejectedTokens, s);
    if (dropout) {
      if (r.chosenPerturbed?.length !== idx.length * k || r.rejectedPerturbed?.length !== idx.length * k) {
        throw new TrainerError(
          "POLICY_INVALID",
          `policy.sequenceLogProbs: expected ${idx.length}×${k} perturbed sums per side; received ${describeValue(r.chosenPerturbed?.length)} and ${describeValue(r.rejectedPerturbed?.length)}`,
        );
      }
      out.chosenPerturbed!.set(r.chosenPerturbed, s * k);
      out.rejectedPerturbed!.set(r.rejectedPerturbed, s * k);
    }
  }
  const { chosenPerturbed, rejectedPerturbed, ...base } = out;
  return chosenPerturbed && rejectedPerturbed ? { ...base, chosenPerturbed, rejectedPerturbed } : base;
}

/**
 * One micro-batch of the DPO (+ NLL) objective: on the policy's device when it implements
 * `accumulateDpoGradient` (the WebGPU policy), otherwise through `accumulateGradient` with the
 * float64 reference of the same fused step (`dpoStepRef` of `@sage/kernels-webgpu`).
 */
async function accumulateMicroBatch(
  policy: PolicyLike,
  pairs: readonly PreferencePair[],
  loss: DpoMicroBatchLoss,
): Promise<DpoMicroBatchResult> {
  if (policy.accumulateDpoGradient) return policy.accumulateDpoGradient(pairs, loss);
  const m = pairs.length;
  let step: ReturnType<typeof dpoStepRef> | undefined;
  const lp: BatchLogProbs = await policy.accumulateGradient(pairs, (logps) => {
    checkLogps("policy.accumulateGradient", logps, m);
    const sums = new Float64Array(2 * m);
    sums.set(logps.chosen);
    sums.set(logps.rejected, m);
    const counts = new Float64Array(2 * m);
    counts.set(logps.chosenTokens);
    counts.set(logps.rejectedTokens, m);
    const ref = new Float64Array(2 * m);
    ref.set(loss.refChosen);
    ref.set(loss.refRejected, m);
    step = dpoStepRef(sums, counts, ref, dpoStepOptions(loss));
    return { chosen: step.gradSums.subarray(0, m), rejected: step.gradSums.subarray(m) };
  });
  if (!step) {
    throw new TrainerError(
      "POLICY_INVALID",
      "policy.accumulateGradient returned without calling lossGradient",
    );
  }
  return {
    ...lp,
    losses: step.losses,
    chosenRewards: step.chosenRewards,
    rejectedRewards: step.rejectedRewards,
  };
}

function checkLogps(
  what: string,
  lp: {
    chosen: Float64Array;
    rejected: Float64Array;
    chosenTokens?: Uint32Array;
    rejectedTokens?: Uint32Array;
  },
  n: number,
): void {
  if (!(lp.chosen instanceof Float64Array) || !(lp.rejected instanceof Float64Array)) {
    throw new TrainerError("POLICY_INVALID", `${what}: expected Float64Array chosen/rejected log-probs`);
  }
  if (lp.chosen.length !== n || lp.rejected.length !== n) {
    throw new TrainerError(
      "POLICY_INVALID",
      `${what}: expected ${n} log-probs per side; received ${lp.chosen.length} and ${lp.rejected.length}`,
    );
  }
  if (lp.chosenTokens !== undefined && (lp.chosenTokens.length !== n || lp.rejectedTokens?.length !== n)) {
    throw new TrainerError("POLICY_INVALID", `${what}: expected ${n} token counts per side`);
  }
}

function mean(a: ArrayLike<number>): number {
  return a.length === 0 ? Number.NaN : sum(a) / a.length;
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

function allFinite(...arrays: ArrayLike<number>[]): boolean {
  for (const a of arrays) for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}
