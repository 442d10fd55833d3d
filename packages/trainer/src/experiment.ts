import { join } from "node:path";
import type { CurriculumConfigInput, SelectorName } from "@sage/curriculum";
import { createContext, formatAdapter, type GpuContext } from "@sage/kernels-webgpu";
import { type LoadedModel, loadModelDir, Policy } from "@sage/model";
import { checkEvalSampling, mergeCurriculum } from "./comparison.js";
import type { DpoTrainConfigInput } from "./config.js";
import { curriculumSelector } from "./curriculum-adapter.js";
import type { PreferencePair } from "./data.js";
import { describeValue, TrainerError } from "./errors.js";
import type { MetricsRecord } from "./metrics.js";
import { evaluatePassAt1, type Grader, type Problem } from "./pairs.js";
import type { Progress } from "./progress.js";
import { runDpo } from "./train.js";
import { WebGpuPolicy, webGpuSampler } from "./webgpu-policy.js";

/**
 * One evaluation point of a run — the shape of `@sage/report`'s `RunPoint` (kept structural so the
 * trainer does not depend on the report package).
 */
export interface ExperimentPoint {
  /** Optimiser steps done. */
  step: number;
  /** Training wall-clock in ms up to this step: Σ `time/step_s` (scoring passes included, evaluation excluded). */
  wallMs: number;
  /** pass@1 on the held-out problems (greedy, or the mean of k samples: `ExperimentOptions.evalSampling`). */
  accuracy: number;
  /** pass@1 per stratum (problem `level`), easiest first. */
  byStratum?: number[];
  /** The curriculum frontier at this step (selectors that have one). */
  frontier?: number;
  /** Mean gradient SNR of the batches since the previous point (when measured). */
  snr?: number;
  /** Cumulative ms in scoring passes (part of `wallMs`). */
  scoringMs?: number;
}

/** All points of one (method, seed) run — `@sage/report`'s `RunSeries`. */
export interface ExperimentSeries {
  method: string;
  seed: number;
  points: ExperimentPoint[];
}

/** Totals of one run besides its evaluation points. */
export interface ExperimentRunDetail {
  readonly method: string;
  readonly seed: number;
  readonly runDir: string;
  readonly status: string;
  readonly steps: number;
  /** Σ time/step_s (training + scoring), seconds. */
  readonly trainSeconds: number;
  /** Σ time/scoring_s, seconds. */
  readonly scoringSeconds: number;
  /** Wall-clock of the periodic evaluations, seconds (not part of `trainSeconds`). */
  readonly evalSeconds: number;
  /** Mean `grad_snr` over the steps that logged one (null: none). */
  readonly meanSnr: number | null;
  /** The last train record's TRL metrics (`loss`, `rewards/accuracies`, …). */
  readonly last: Readonly<Record<string, number>>;
}

/**
 * A named variant of a selector: `label` names the series (`method` of its runs and its run folder
 * `<runDir>/<label>-s<seed>/`), `curriculum` overrides the shared `curriculum` (stability included).
 */
export interface ExperimentVariant {
  readonly label: string;
  readonly selector: SelectorName;
  readonly curriculum?: CurriculumConfigInput;
}

/** A plain selector name (its own label) or a labelled variant. */
export type ExperimentMethod = SelectorName | ExperimentVariant;

export interface ExperimentOptions {
  /** HF model folder (config.json, *.safetensors, tokenizer.json): the start policy and reference of every run. */
  readonly startDir?: string;
  /** Or the loaded model itself (takes precedence over `startDir`). */
  readonly start?: LoadedModel;
  /** The one pair pool every run draws from. */
  readonly pairs: readonly PreferencePair[];
  /** Selectors to compare (`@sage/curriculum` names) or labelled variants of them; labels must not repeat. */
  readonly methods: readonly ExperimentMethod[];
  /** Seeds; every method runs once per seed (`train.seed = seed`). */
  readonly seeds: readonly number[];
  /** Optimiser steps per run (the same budget for every method). */
  readonly steps: number;
  /** Evaluate every this many steps (and at step 0, once, on the start policy). */
  readonly evalEvery: number;
  /** Held-out problems; `level` gives the strata (ascending = easiest first). */
  readonly evalProblems: readonly Problem[];
  /** The rest of the DPO config (`batchSize`, `beta`, `learningRate`, `gradientAccumulation`, `gradSnrEvery`, …). */
  readonly train?: Omit<DpoTrainConfigInput, "steps" | "seed" | "evalEvery">;
  /** Selector config for every method (`refreshEvery`, `nStrata`, `stability`, …; not `batchSize`). */
  readonly curriculum?: CurriculumConfigInput;
  /** Per-method overrides of `curriculum`. */
  readonly curriculumFor?: Readonly<Partial<Record<SelectorName, CurriculumConfigInput>>>;
  /** Runs go to `<runDir>/<method>-s<seed>/`; the shared reference cache to `<runDir>/ref-cache`. */
  readonly runDir: string;
  /** Tokens per evaluation answer (default 64). */
  readonly maxNewTokens?: number;
  /**
   * How pass@1 is estimated (default greedy: one temperature-0 answer per problem). With
   * `{ samples: k, temperature: T }` it is the mean correctness of k samples per problem at
   * temperature T (seeded by `seed`, the same draws at every evaluation point), whose standard
   * error is about √k times smaller on problems the policy solves sometimes.
   */
  readonly evalSampling?: { readonly samples: number; readonly temperature: number; readonly seed?: number };
  /** Problems per evaluation generate call (default 32). */
  readonly evalBatchSize?: number;
  /** Grader (default `@sage/eval-math`'s `gradeResponse`); it also receives the problem. */
  readonly grade?: Grader;
  /** WebGPU context to use (default: one is created and destroyed). */
  readonly ctx?: GpuContext;
  /** An overall bar over all runs: `update(done steps of all runs)`, total = runs × steps. */
  readonly progress?: Progress;
  /** Called after every evaluation point. */
  readonly onPoint?: (run: { method: string; seed: number }, point: ExperimentPoint) => void;
  /** Optimiser settings of the WebGPU policy. */
  readonly optimizer?: { beta1?: number; beta2?: number; eps?: number; weightDecay?: number };
  readonly log?: (line: string) => void;
}

export interface ExperimentResult {
  /** One series per (method, seed), methods in order, then seeds. */
  readonly runs: ExperimentSeries[];
  readonly details: ExperimentRunDetail[];
  /** Levels used as strata, easiest first (empty when the problems have no level). */
  readonly strata: number[];
  /** The start policy's evaluation (step 0 of every run). */
  readonly initial: ExperimentPoint;
  /** Seconds the step-0 evaluation took. */
  readonly initialEvalSeconds: number;
  readonly adapter: string;
}

function toPoint(r: Readonly<Record<string, number>>, strata: readonly number[]): ExperimentPoint {
  const accuracy = r["eval/pass@1"];
  if (accuracy === undefined) throw new TrainerError("POLICY_INVALID", "evaluation gave no eval/pass@1");
  const point: ExperimentPoint = { step: 0, wallMs: 0, accuracy };
  if (strata.length > 0) point.byStratum = strata.map((l) => r[`eval/pass@1/level_${l}`] ?? 0);
  return point;
}

/**
 * Compare selectors under one budget: from ONE start policy and ONE pair pool, run DPO once per
 * (method, seed) with the same config and step budget, evaluating pass@1 on held-out
 * problems by stratum every `evalEvery` steps; records training wall-clock (scoring passes
 * included), the scoring time, the curriculum frontier and the gradient SNR (when
 * `train.gradSnrEvery` > 0). The result's `runs` are ready for `@sage/report`'s `writeReport`.
 */
export async function runExperiment(options: ExperimentOptions): Promise<ExperimentResult> {
  const { methods, seeds, steps, evalEvery, evalProblems } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (methods.length === 0)
    throw new TrainerError("CONFIG_INVALID", "runExperiment needs at least one method");
  if (seeds.length === 0 || seeds.some((s) => !Number.isSafeInteger(s))) {
    throw new TrainerError("CONFIG_INVALID", `seeds must be ≥ 1 integers; received ${describeValue(seeds)}`);
  }
  const labels = methods.map((m) => (typeof m === "string" ? m : m.label));
  for (const label of labels) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._:=+-]*$/.test(label)) {
      throw new TrainerError(
        "CONFIG_INVALID",
        `method labels must be non-empty, start with a letter or digit and use only A–Z a–z 0–9 . _ : = + -; received ${describeValue(label)}`,
      );
    }
  }
  if (new Set(seeds).size !== seeds.length || new Set(labels).size !== labels.length) {
    throw new TrainerError("CONFIG_INVALID", "methods (labels) and seeds must not repeat");
  }
  if (!Number.isInteger(steps) || steps < 1) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `steps must be an integer ≥ 1; received ${describeValue(steps)}`,
    );
  }
  if (!Number.isInteger(evalEvery) || evalEvery < 1 || evalEvery > steps) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `evalEvery must be an integer in [1, steps = ${steps}]; received ${describeValue(evalEvery)}`,
    );
  }
  if (evalProblems.length === 0)
    throw new TrainerError("DATA_EMPTY", "runExperiment needs evaluation problems");
  if (options.pairs.length === 0)
    throw new TrainerError("DATA_EMPTY", "runExperiment needs preference pairs");
  let model: LoadedModel;
  if (options.start) model = options.start;
  else if (options.startDir) model = loadModelDir(options.startDir);
  else throw new TrainerError("CONFIG_INVALID", "runExperiment needs startDir or start");
  const tokenizer = model.tokenizer;
  if (!tokenizer) throw new TrainerError("CONFIG_INVALID", "the start model has no tokenizer");

  const levels = evalProblems.map((p) => p.level);
  const strata = levels.every((l) => l !== undefined)
    ? [...new Set(levels as number[])].sort((a, b) => a - b)
    : [];
  const ctx = options.ctx ?? (await createContext({ label: "sage-experiment" }));
  const adapter = ctx.report ? formatAdapter(ctx.report) : "unknown adapter";
  const sampling = options.evalSampling;
  checkEvalSampling(sampling);
  const evaluateWith = (policy: Policy) =>
    evaluatePassAt1(
      evalProblems,
      webGpuSampler(policy, tokenizer, {
        maxNewTokens: options.maxNewTokens ?? 64,
        temperature: sampling?.temperature ?? 0,
        seed: sampling?.seed ?? 0,
      }),
      {
        batchSize: options.evalBatchSize ?? 32,
        samples: sampling?.samples ?? 1,
        ...(options.grade ? { grade: options.grade } : {}),
      },
    );
  const runs: ExperimentSeries[] = [];
  const details: ExperimentRunDetail[] = [];
  try {
    // step 0: the start policy, identical for every run, evaluated once
    const t0 = performance.now();
    const startPolicy = Policy.create(ctx, model.config, model.weights, { trainable: false });
    let initial: ExperimentPoint;
    try {
      initial = toPoint(await evaluateWith(startPolicy), strata);
    } finally {
      startPolicy.destroy();
    }
    const initialEvalSeconds = (performance.now() - t0) / 1000;
    log(`start policy: pass@1 ${(100 * initial.accuracy).toFixed(1)}% (${initialEvalSeconds.toFixed(1)} s)`);

    let runIndex = 0;
    for (const entry of methods) {
      const method = typeof entry === "string" ? entry : entry.label;
      const selectorName = typeof entry === "string" ? entry : entry.selector;
      const variantCurriculum = typeof entry === "string" ? undefined : entry.curriculum;
      for (const seed of seeds) {
        const runDir = join(options.runDir, `${method.replaceAll(":", "_")}-s${seed}`);
        const offset = runIndex * steps;
        runIndex++;
        const points: ExperimentPoint[] = [{ ...initial }];
        const series: ExperimentSeries = { method, seed, points };
        options.onPoint?.({ method, seed }, points[0]!);
        let wallS = 0;
        let scoringS = 0;
        let evalS = 0;
        let frontier: number | undefined;
        let snrSum = 0;
        let snrN = 0;
        let snrAllSum = 0;
        let snrAllN = 0;
        let last: Record<string, number> = {};
        const policy = Policy.create(ctx, model.config, model.weights);
        const gpu = new WebGpuPolicy({ policy, tokenizer, ...(options.optimizer ?? {}) });
        try {
          // per-selector overrides replace fields wholesale (as before); a variant's `stability` is merged field by field
          const curriculum = mergeCurriculum(
            { ...(options.curriculum ?? {}), ...(options.curriculumFor?.[selectorName] ?? {}) },
            variantCurriculum,
          );
          const result = await runDpo({
            config: { ...(options.train ?? {}), steps, seed, evalEvery, checkpointEvery: steps },
            policy: gpu,
            selector: curriculumSelector(selectorName, curriculum),
            pairs: options.pairs,
            runDir,
            refCacheDir: join(options.runDir, "ref-cache"),
            log,
            ...(options.progress
              ? {
                  progress: {
                    update: (step, values) =>
                      options.progress!.update(offset + step, {
                        run: `${method} s${seed}`,
                        ...(values ?? {}),
                      }),
                    stop: () => {},
                  },
                }
              : {}),
            onStep: (r: MetricsRecord) => {
              if (r.event !== "train") return;
              wallS += num(r["time/step_s"]);
              scoringS += num(r["time/scoring_s"]);
              const f = r["sage/frontier"];
              if (typeof f === "number") frontier = f;
              const snr = r.grad_snr;
              if (typeof snr === "number" && Number.isFinite(snr)) {
                snrSum += snr;
                snrN++;
                snrAllSum += snr;
                snrAllN++;
              }
              last = {};
              for (const [k, v] of Object.entries(r)) if (typeof v === "number") last[k] = v;
            },
            evaluate: async ({ step }) => {
              const te = performance.now();
              const r = await evaluateWith(policy);
              evalS += (performance.now() - te) / 1000;
              const point: ExperimentPoint = {
                ...toPoint(r, strata),
                step,
                wallMs: wallS * 1000,
                scoringMs: scoringS * 1000,
              };
              if (frontier !== undefined) point.frontier = frontier;
              if (snrN > 0) point.snr = snrSum / snrN;
              snrSum = 0;
              snrN = 0;
              points.push(point);
              options.onPoint?.({ method, seed }, point);
              return r;
            },
          });
          if (result.status !== "completed") {
            throw new TrainerError(
              "POLICY_INVALID",
              `run ${method} seed ${seed} ended ${result.status} at step ${result.step} of ${steps}`,
            );
          }
          // a final point when the budget is not a multiple of evalEvery
          if (points[points.length - 1]!.step !== steps) {
            const te = performance.now();
            const r = await evaluateWith(policy);
            evalS += (performance.now() - te) / 1000;
            const point: ExperimentPoint = {
              ...toPoint(r, strata),
              step: steps,
              wallMs: wallS * 1000,
              scoringMs: scoringS * 1000,
            };
            if (frontier !== undefined) point.frontier = frontier;
            if (snrN > 0) point.snr = snrSum / snrN;
            points.push(point);
            options.onPoint?.({ method, seed }, point);
          }
          runs.push(series);
          details.push({
            method,
            seed,
            runDir,
            status: result.status,
            steps: result.step,
            trainSeconds: wallS,
            scoringSeconds: scoringS,
            evalSeconds: evalS,
            meanSnr: snrAllN > 0 ? snrAllSum / snrAllN : null,
            last,
          });
        } finally {
          gpu.destroy();
          policy.destroy();
        }
      }
    }
    return { runs, details, strata, initial, initialEvalSeconds, adapter };
  } finally {
    if (!options.ctx) ctx.destroy();
  }
}

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}
