import { join } from "node:path";
import { jsonStateProvider } from "./checkpoint.js";
import { type DpoTrainConfig, type DpoTrainConfigInput, parseDpoTrainConfig } from "./config.js";
import type { PreferencePair } from "./data.js";
import { preferenceDataHash } from "./data.js";
import {
  checkDpoRun,
  type ReferenceLogProbs,
  referencePass,
  scoringRounds,
  startSelector,
  trainStep,
} from "./dpo-stages.js";
import { TrainerError } from "./errors.js";
import { checkResumeConfig, loopLog, openCheckpoints, policyStateProvider, runTrainingLoop } from "./loop.js";
import type { MetricsRecord } from "./metrics.js";
import type { PolicyLike } from "./policy.js";
import type { Progress } from "./progress.js";
import { RefLogProbCache } from "./ref-cache.js";
import { Rng, type RngState } from "./rng.js";
import type { TrainingSelector } from "./selector.js";
import type { StopController } from "./signals.js";

// The SNR diagnostic is a stage of the loop (dpo-stages.ts); the main entry exports it from here.
export { gradientSnr } from "./dpo-stages.js";

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
  checkDpoRun(config, policy, pairs, options.evaluate !== undefined);
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

  const { ref, source: refSource } = await loadReference(options, config, state, dataHash, resumedFrom);
  startSelector(selector, pairs, ref, config, rng);
  if (latest) {
    await checkpoints.load(latest.path, [policyProvider, selectorProvider]);
    rng.setState(state.rng); // selector.init may have drawn from it; the checkpoint's state wins
    log(`resumed from ${latest.path} (step ${state.step})`);
  }

  const loop = await runTrainingLoop({
    steps: config.steps,
    counters: state,
    config,
    items: { word: "pairs", key: "pair_ids" },
    runDir,
    checkpoints,
    providers,
    latest,
    resumedFrom,
    meta: { selector: selector.name },
    stop: options.stop,
    progress: options.progress,
    label: `dpo ${selector.name}`,
    log,
    onStep: options.onStep,
    evaluate: options.evaluate && ((step) => options.evaluate!({ step, policy })),
    step: async () => {
      const t0 = performance.now();
      const scoring = await scoringRounds(policy, selector, pairs, ref, state.step, config);
      const step = await trainStep(policy, selector, pairs, ref, state.step, config);
      state.step += 1;
      const elapsed = (performance.now() - t0) / 1000;
      state.scoringSeconds += scoring.ms / 1000;
      state.totalSeconds += elapsed;
      const record: MetricsRecord = {
        event: "train",
        step: state.step,
        ...step.metrics,
        "sage/scoring_time_share": state.totalSeconds > 0 ? state.scoringSeconds / state.totalSeconds : 0,
        "time/step_s": elapsed,
        "time/scoring_s": scoring.ms / 1000,
      };
      return {
        record,
        progress: { loss: record.loss as number, acc: record["rewards/accuracies"] as number },
        ...(step.nonFinite
          ? { nonFinite: { what: step.nonFinite, ids: step.indices.map((i) => pairs[i]!.id) } }
          : {}),
      };
    },
  });
  return {
    status: loop.status,
    step: state.step,
    checkpoint: loop.checkpoint,
    nonFiniteSteps: state.nonFiniteSteps,
    resumedFrom,
    refSource,
    metricsPath: loop.metricsPath,
    signal: loop.signal,
  };
}

/**
 * The run's reference log-probs: from the data (every pair carries them), else from the disk cache
 * keyed by reference model and data hash, else computed with `referencePass` (by `referencePolicy`,
 * or the policy itself on a fresh start) and cached. Sets `state.refModelHash` unless from the data.
 */
async function loadReference(
  options: RunDpoOptions,
  config: DpoTrainConfig,
  state: TrainerState,
  dataHash: string,
  resumedFrom: number | undefined,
): Promise<{ ref: ReferenceLogProbs; source: RunDpoResult["refSource"] }> {
  const { pairs, policy, runDir } = options;
  const withRef = pairs.filter((p) => p.refChosenLogps !== undefined).length;
  if (withRef === pairs.length) {
    return {
      ref: {
        chosen: Float64Array.from(pairs, (p) => p.refChosenLogps!),
        rejected: Float64Array.from(pairs, (p) => p.refRejectedLogps!),
      },
      source: "data",
    };
  }
  if (withRef > 0) {
    throw new TrainerError(
      "DATA_REF_PARTIAL",
      `${withRef} of ${pairs.length} pairs carry ref_chosen_logps/ref_rejected_logps; expected all or none`,
    );
  }
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
  let ref: ReferenceLogProbs;
  let source: RunDpoResult["refSource"];
  if (cached) {
    if (cached.ids.length !== ids.length || cached.ids.some((id, i) => id !== ids[i])) {
      throw new TrainerError(
        "REF_CACHE_INVALID",
        `${cache.pathFor(modelHash, dataHash)}: ids differ from the data`,
      );
    }
    ref =
      cached.chosenTokens && cached.rejectedTokens
        ? {
            chosen: cached.chosen,
            rejected: cached.rejected,
            chosenTokens: cached.chosenTokens,
            rejectedTokens: cached.rejectedTokens,
          }
        : { chosen: cached.chosen, rejected: cached.rejected };
    source = "cache";
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
    const r = await referencePass(refPolicy, pairs, config);
    await cache.put(modelHash, dataHash, { ids, ...r });
    ref = r;
    source = "computed";
  }
  state.refModelHash = modelHash;
  return { ref, source };
}
