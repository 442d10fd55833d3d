import { join } from "node:path";
import { dpoStepRef } from "@sage/kernels-webgpu";
import { jsonStateProvider } from "./checkpoint.js";
import { type DpoTrainConfig, type DpoTrainConfigInput, parseDpoTrainConfig } from "./config.js";
import type { PreferencePair } from "./data.js";
import { preferenceDataHash } from "./data.js";
import { learningRateAt } from "./dpo.js";
import { describeValue, TrainerError } from "./errors.js";
import {
  checkResumeConfig,
  LoopCheckpointer,
  loopLog,
  loopProgress,
  loopSchedule,
  loopStop,
  openCheckpoints,
  openMetrics,
  policyStateProvider,
} from "./loop.js";
import type { MetricsRecord } from "./metrics.js";
import type {
  BatchLogProbs,
  DpoMicroBatchLoss,
  DpoMicroBatchResult,
  PolicyLike,
  SequenceLogProbs,
} from "./policy.js";
import type { Progress } from "./progress.js";
import { RefLogProbCache } from "./ref-cache.js";
import { Rng, type RngState } from "./rng.js";
import type { ScoringRequest, TrainingSelector } from "./selector.js";
import type { StopController } from "./signals.js";

export interface RunDpoOptions {
  readonly config: DpoTrainConfigInput;
  readonly policy: PolicyLike;
  readonly selector: TrainingSelector;
  readonly pairs: readonly PreferencePair[];
  /** Run folder: `metrics.jsonl`, `checkpoints/`. */
  readonly runDir: string;
  /** Reference-log-prob cache folder, shared across runs (default `<runDir>/ref-cache`). */
  readonly refCacheDir?: string;
  /**
   * Computes reference log-probs when they are neither in the data nor in the cache. Default: the
   * policy itself before its first update (it is the reference then). Required to recompute on
   * resume, when the policy has moved.
   */
  readonly referencePolicy?: PolicyLike;
  /** Continue from the newest checkpoint in `<runDir>/checkpoints` (fresh start when there is none). */
  readonly resume?: boolean;
  /** true: bar on stderr when it is a TTY; false: none; or your own. Default false. */
  readonly progress?: boolean | Progress;
  /** Stop controller; default one that listens for SIGINT/SIGTERM during the run. */
  readonly stop?: StopController;
  /**
   * Periodic evaluation (e.g. pass@1 by difficulty stratum with `@sage/eval-math`), called after
   * every `evalEvery`-th step; its numbers are logged as an `event: "eval"` line.
   */
  readonly evaluate?: (context: {
    readonly step: number;
    readonly policy: PolicyLike;
  }) => Promise<Readonly<Record<string, number>>>;
  /** Called after each step's metrics line (tests, custom logging). */
  readonly onStep?: (record: MetricsRecord) => void | Promise<void>;
  /** One-line notices (default: stderr). */
  readonly log?: (line: string) => void;
}

export type RunDpoStatus = "completed" | "interrupted" | "nonfinite";

export interface RunDpoResult {
  readonly status: RunDpoStatus;
  /** Optimiser steps completed (including skipped non-finite steps). */
  readonly step: number;
  /** The newest checkpoint folder (the last good one when `status` is "nonfinite"). */
  readonly checkpoint: string | undefined;
  readonly nonFiniteSteps: number;
  readonly resumedFrom: number | undefined;
  readonly refSource: "data" | "cache" | "computed";
  readonly metricsPath: string;
  /** The signal that interrupted the run, when one did. */
  readonly signal: NodeJS.Signals | undefined;
}

/** JSON state of the loop itself, saved in every checkpoint as the `trainer` provider. */
interface TrainerState {
  step: number;
  rng: RngState;
  nonFiniteSteps: number;
  refModelHash: string | null;
  dataHash: string;
  config: DpoTrainConfig;
  scoringSeconds: number;
  totalSeconds: number;
}

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return a.length === 0 ? Number.NaN : s / a.length;
}

function allFinite(...arrays: ArrayLike<number>[]): boolean {
  for (const a of arrays) for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
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

/** Score `pairs` in chunks of `chunk` with the policy, concatenating the results. */
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
 * Run DPO with a selector: reference log-probs (from the data, the disk cache, or computed once),
 * selection with scoring passes, gradient accumulation, the metrics log, checkpoints every
 * `checkpointEvery` steps and on SIGINT/SIGTERM, bit-for-bit resume, and the non-finite policy
 * (a step with a non-finite loss, log-prob or gradient norm is skipped, logged with its pair ids,
 * and after `maxNonFinite` such steps the run ends without writing a new checkpoint).
 */
export async function runDpo(options: RunDpoOptions): Promise<RunDpoResult> {
  const config = parseDpoTrainConfig(options.config);
  const { policy, selector, pairs, runDir } = options;
  const log = loopLog(options.log);
  if (pairs.length === 0) throw new TrainerError("DATA_EMPTY", "runDpo needs at least one preference pair");
  if (config.evalEvery > 0 && !options.evaluate) {
    throw new TrainerError("CONFIG_INVALID", `evalEvery = ${config.evalEvery} needs an evaluate hook`);
  }
  if (config.gradSnrEvery > 0 && (config.gradientAccumulation < 2 || !policy.readGradient)) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `gradSnrEvery = ${config.gradSnrEvery} needs gradientAccumulation ≥ 2 (received ${config.gradientAccumulation}) and a policy with readGradient`,
    );
  }
  const dataHash = preferenceDataHash(pairs);
  const { checkpoints, latest } = await openCheckpoints(runDir, config.keepCheckpoints, options.resume);

  const rng = new Rng(config.seed);
  const state: TrainerState = {
    step: 0,
    rng: rng.getState(),
    nonFiniteSteps: 0,
    refModelHash: null,
    dataHash,
    config,
    scoringSeconds: 0,
    totalSeconds: 0,
  };
  const trainerProvider = jsonStateProvider<TrainerState>(
    "trainer",
    () => ({ ...state, rng: rng.getState() }),
    (saved) => {
      Object.assign(state, saved, { config });
      rng.setState(saved.rng);
      checkResumeConfig(saved.config, config);
      if (saved.dataHash !== dataHash) {
        throw new TrainerError(
          "CONFIG_INVALID",
          `cannot resume on different data: checkpoint data hash ${saved.dataHash.slice(0, 16)}…, current ${dataHash.slice(0, 16)}…`,
        );
      }
    },
  );
  const policyProvider = policyStateProvider(policy);
  const selectorProvider = jsonStateProvider(
    "selector",
    () => selector.getState(),
    (s) => selector.setState(s),
  );
  const providers = [trainerProvider, policyProvider, selectorProvider];

  // The trainer state is loaded first (ref model hash, RNG); the rest after the selector's init.
  let resumedFrom: number | undefined;
  if (latest) {
    await checkpoints.load(latest.path, [trainerProvider]);
    resumedFrom = state.step;
  }

  // Reference log-probs.
  let refChosen: Float64Array;
  let refRejected: Float64Array;
  let refSource: RunDpoResult["refSource"];
  let refTokens: { chosenTokens: Uint32Array; rejectedTokens: Uint32Array } | undefined;
  const withRef = pairs.filter((p) => p.refChosenLogps !== undefined).length;
  if (withRef === pairs.length) {
    refChosen = Float64Array.from(pairs, (p) => p.refChosenLogps!);
    refRejected = Float64Array.from(pairs, (p) => p.refRejectedLogps!);
    refSource = "data";
  } else if (withRef > 0) {
    throw new TrainerError(
      "DATA_REF_PARTIAL",
      `${withRef} of ${pairs.length} pairs carry ref_chosen_logps/ref_rejected_logps; expected all or none`,
    );
  } else {
    const cache = new RefLogProbCache(options.refCacheDir ?? join(runDir, "ref-cache"));
    const refPolicy = options.referencePolicy ?? (resumedFrom === undefined ? policy : undefined);
    let modelHash = state.refModelHash;
    if (modelHash === null) {
      if (!refPolicy)
        throw new TrainerError("REF_CACHE_MISSING", "no reference model hash and no reference policy");
      modelHash = await refPolicy.fingerprint();
    }
    const ids = pairs.map((p) => p.id);
    const cached = await cache.get(modelHash, dataHash);
    if (cached) {
      if (cached.ids.length !== ids.length || cached.ids.some((id, i) => id !== ids[i])) {
        throw new TrainerError(
          "REF_CACHE_INVALID",
          `${cache.pathFor(modelHash, dataHash)}: ids differ from the data`,
        );
      }
      refChosen = cached.chosen;
      refRejected = cached.rejected;
      if (cached.chosenTokens && cached.rejectedTokens) {
        refTokens = { chosenTokens: cached.chosenTokens, rejectedTokens: cached.rejectedTokens };
      }
      refSource = "cache";
    } else {
      if (!refPolicy) {
        throw new TrainerError(
          "REF_CACHE_MISSING",
          `resuming needs the cached reference log-probs ${cache.pathFor(modelHash, dataHash)} (missing) or a referencePolicy`,
        );
      }
      if (options.referencePolicy && (await refPolicy.fingerprint()) !== modelHash) {
        throw new TrainerError(
          "REF_CACHE_MISSING",
          "referencePolicy's fingerprint differs from the run's reference model",
        );
      }
      const all = pairs.map((_, i) => i);
      const r = await scoreInChunks(refPolicy, pairs, all, config.scoringBatchSize, null);
      if (!allFinite(r.chosen, r.rejected)) {
        throw new TrainerError("POLICY_INVALID", "reference log-probs contain non-finite values");
      }
      refTokens = { chosenTokens: r.chosenTokens, rejectedTokens: r.rejectedTokens };
      await cache.put(modelHash, dataHash, { ids, chosen: r.chosen, rejected: r.rejected, ...refTokens });
      refChosen = r.chosen;
      refRejected = r.rejected;
      refSource = "computed";
    }
    state.refModelHash = modelHash;
  }

  selector.init({
    pairs,
    refChosen,
    refRejected,
    ...(refTokens ?? {}),
    beta: config.beta,
    batchSize: config.batchSize,
    totalSteps: config.steps,
    rng,
  });
  if (latest) {
    await checkpoints.load(latest.path, [policyProvider, selectorProvider]);
    rng.setState(state.rng); // selector.init may have drawn from it; the checkpoint's state wins
    log(`resumed from ${latest.path} (step ${state.step})`);
  }

  const metrics = await openMetrics(runDir, resumedFrom);
  const { stop, own: ownStop } = loopStop(options.stop, log);
  const progress = loopProgress(options.progress, config.steps, state.step, `dpo ${selector.name}`);

  const saver = new LoopCheckpointer(checkpoints, providers, metrics, latest, { selector: selector.name });
  const schedule = loopSchedule(config);

  let status: RunDpoStatus = "completed";
  try {
    while (state.step < config.steps) {
      if (stop.requested) {
        status = "interrupted";
        break;
      }
      const t0 = performance.now();
      let scoringMs = 0;
      // 1. scoring passes the selector asks for
      let rounds = 0;
      for (
        let req = selector.nextScoringRequest(state.step);
        req;
        req = selector.nextScoringRequest(state.step)
      ) {
        if (++rounds > config.maxScoringRounds) {
          throw new TrainerError(
            "SELECTION_INVALID",
            `selector ${selector.name} asked for more than maxScoringRounds = ${config.maxScoringRounds} scoring passes at step ${state.step}`,
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
        const logps = await scoreInChunks(
          policy,
          pairs,
          req.indices,
          config.scoringBatchSize,
          req.perturbation,
        );
        scoringMs += performance.now() - ts;
        selector.receiveScores({
          request: req,
          logps,
          refChosen: Float64Array.from(req.indices, (i) => refChosen[i]!),
          refRejected: Float64Array.from(req.indices, (i) => refRejected[i]!),
        });
      }
      // 2. the batch
      const indices = [...selector.selectBatch(state.step, config.batchSize)];
      const seen = new Set<number>();
      for (const i of indices) {
        if (!Number.isInteger(i) || i < 0 || i >= pairs.length || seen.has(i)) {
          throw new TrainerError(
            "SELECTION_INVALID",
            `selector ${selector.name} returned index ${describeValue(i)} at step ${state.step}; expected distinct integers in [0, ${pairs.length})`,
          );
        }
        seen.add(i);
      }
      if (indices.length === 0 || indices.length > config.batchSize) {
        throw new TrainerError(
          "SELECTION_INVALID",
          `selector ${selector.name} returned ${indices.length} pairs at step ${state.step}; expected 1..${config.batchSize}`,
        );
      }
      // 3. forward, loss and backward per micro-batch (on the policy's device when it can)
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
      const snrStep = config.gradSnrEvery > 0 && (state.step + 1) % config.gradSnrEvery === 0;
      const microGrads: { weight: number; g: Float64Array }[] = [];
      let nllLoss = 0;
      let previous: Float64Array | undefined;
      for (let s = 0; s < n; s += micro) {
        const idx = indices.slice(s, s + micro);
        const loss: DpoMicroBatchLoss = {
          refChosen: Float64Array.from(idx, (i) => refChosen[i]!),
          refRejected: Float64Array.from(idx, (i) => refRejected[i]!),
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
      // the log-probs the loss saw: per-token means for ipo (TRL's logps/* then are means too)
      const perToken = config.lossType === "ipo";
      const lossLogps = (lp: Float64Array, tok: Uint32Array) =>
        perToken ? lp.map((v, j) => (tok[j]! === 0 ? 0 : v / tok[j]!)) : lp;
      const learningRate = learningRateAt(state.step, schedule);
      let gradNorm = Number.NaN;
      let finite = allFinite(losses, lpChosen, lpRejected);
      if (finite) {
        const r = await policy.applyGradients({ learningRate, maxGradNorm: config.maxGradNorm ?? undefined });
        gradNorm = r.gradNorm;
        finite = Number.isFinite(gradNorm) && r.applied;
        if (!Number.isFinite(gradNorm) && r.applied) {
          throw new TrainerError("POLICY_INVALID", "policy.applyGradients applied a non-finite gradient");
        }
      } else {
        await policy.discardGradients();
      }
      state.step += 1;
      const ids = indices.map((i) => pairs[i]!.id);
      if (finite)
        selector.observeTrained(state.step - 1, indices, {
          chosen: lpChosen,
          rejected: lpRejected,
          chosenTokens: tokChosen,
          rejectedTokens: tokRejected,
        });
      else {
        state.nonFiniteSteps += 1;
        const what = allFinite(losses, lpChosen, lpRejected) ? "gradient norm" : "loss or log-probs";
        log(
          `step ${state.step}: non-finite ${what}; update skipped (${state.nonFiniteSteps}/${config.maxNonFinite}); pairs ${ids.join(", ")}`,
        );
        await metrics.log({
          event: "nonfinite",
          step: state.step,
          what,
          pair_ids: ids,
          count: state.nonFiniteSteps,
        });
      }
      const elapsed = (performance.now() - t0) / 1000;
      state.scoringSeconds += scoringMs / 1000;
      state.totalSeconds += elapsed;
      let correct = 0;
      for (let j = 0; j < n; j++) if (chosenRewards[j]! > rejectedRewards[j]!) correct++;
      const snr = snrStep && finite && microGrads.length >= 2 ? gradientSnr(microGrads) : undefined;
      const record: MetricsRecord = {
        event: "train",
        step: state.step,
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
              "logits/chosen": logitSums.chosen / sumOf(tokChosen),
              "logits/rejected": logitSums.rejected / sumOf(tokRejected),
            }
          : {}),
        grad_norm: gradNorm,
        learning_rate: learningRate,
        skipped: !finite,
        batch_size: n,
        ...(snr !== undefined ? { grad_snr: snr } : {}),
        ...selector.metrics(),
        "sage/scoring_time_share": state.totalSeconds > 0 ? state.scoringSeconds / state.totalSeconds : 0,
        "time/step_s": elapsed,
        "time/scoring_s": scoringMs / 1000,
      };
      await metrics.log(record);
      progress.update(state.step, {
        loss: record.loss as number,
        acc: record["rewards/accuracies"] as number,
      });
      await options.onStep?.(record);
      if (state.nonFiniteSteps >= config.maxNonFinite) {
        log(
          `stopping: ${state.nonFiniteSteps} non-finite steps (maxNonFinite); last good checkpoint ${saver.path ?? "none"}`,
        );
        status = "nonfinite";
        break;
      }
      if (config.evalEvery > 0 && state.step % config.evalEvery === 0 && options.evaluate) {
        const results = await options.evaluate({ step: state.step, policy });
        await metrics.log({ ...results, event: "eval", step: state.step });
      }
      if (state.step % config.checkpointEvery === 0) await saver.save(state.step);
    }
    if (status !== "nonfinite") await saver.saveIfNew(state.step);
  } finally {
    progress.stop();
    await metrics.close();
    if (ownStop) stop.dispose();
  }
  return {
    status,
    step: state.step,
    checkpoint: saver.path,
    nonFiniteSteps: state.nonFiniteSteps,
    resumedFrom,
    refSource,
    metricsPath: metrics.path,
    signal: stop.signal,
  };
}

function sumOf(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
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
    step = dpoStepRef(sums, counts, ref, {
      lossType: loss.lossType,
      beta: loss.beta,
      labelSmoothing: loss.lossType === "sigmoid" ? loss.labelSmoothing : 0,
      lengthNormalize: loss.lengthNormalize,
      gradScale: loss.gradScale,
      nllWeight: loss.nllWeight,
    });
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
