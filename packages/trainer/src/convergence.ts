import { join } from "node:path";
import { type CurriculumConfigInput, SELECTOR_NAMES } from "@sage/curriculum";
import type { GpuContext } from "@sage/kernels-webgpu";
import type { LoadedModel } from "@sage/model";
import {
  type ComparisonMethod,
  type ComparisonMethodSpec,
  type ComparisonOptions,
  type ComparisonResult,
  type ExperimentSeries,
  runComparison,
  SFT_CHOSEN,
  webGpuComparisonPolicies,
} from "./comparison.js";
import { writePreferencePairs } from "./data.js";
import { describeValue, TrainerError } from "./errors.js";
import type { BuildPairsResult } from "./pairs.js";
import {
  buildPlanPairs,
  CHAINS_GATE_PLAN,
  CHAINS_QUICK_PLAN,
  DEMO_PLANS,
  type ExperimentPlan,
  evalDescription,
  planEvalProblems,
  TASK_NAMES,
  TASKS,
  type TaskName,
} from "./presets.js";

/*
 * The convergence benchmark v2 (docs/benchmarks.md, "Convergence v2"), as a library: its
 * pre-registered design (plans, methods, the label-noise arm, the gate, the minimums) and the study
 * itself (`runConvergenceStudy`: one candidate set, the target fixed on the tuning seeds, every
 * method on the reported seeds, the label-noise arm; or the ablations on the tuning seeds). Both
 * `npm run bench -- convergence` and `sage bench convergence` parse their arguments, call this, and
 * write the result with `@sage/report`'s `writeConvergenceStudy`.
 */

// ───────────────────────────── the design ─────────────────────────────

/** `score-only` with the stability term switched off (k = 1, α = 0): the stability ablation. */
export const SCORE_ONLY_NO_STABILITY = "score-only-nostab";

/**
 * SAGE's ablations, run on the tuning seeds only (`--ablations`; docs/benchmarks.md): one setting
 * changed at a time against the spec-v2 defaults — the v1 score (`scale: "raw"`), v1 competence
 * (held-out probes), the implicit-reward error margin, the noise weight α and the Gumbel temperature τ.
 */
export const ABLATIONS: Readonly<Record<string, CurriculumConfigInput>> = {
  "sage-raw": { stability: { scale: "raw" } },
  "sage-probe": { competence: "probe" },
  "sage-implicit": { stability: { errorMargin: "implicit" } },
  "sage-alpha0": { stability: { alpha: 0 } },
  "sage-alpha0.5": { stability: { alpha: 0.5 } },
  "sage-alpha2": { stability: { alpha: 2 } },
  "sage-tau0": { tau: 0 },
  "sage-tau0.5": { tau: 0.5 },
  "sage-tau2": { tau: 2 },
};

/** Method names the study knows: the selectors, the SFT-on-chosen control, the stability ablation and SAGE's ablations. */
export const METHOD_NAMES: readonly string[] = [
  ...SELECTOR_NAMES,
  SFT_CHOSEN,
  SCORE_ONLY_NO_STABILITY,
  ...Object.keys(ABLATIONS),
];

/** The runner's method for a name (`score-only-nostab` and the ablations are labelled specs). */
export function methodOf(name: string): ComparisonMethod {
  if (name === SCORE_ONLY_NO_STABILITY) {
    const curriculum: CurriculumConfigInput = { stability: { k: 1, alpha: 0 } };
    return { label: SCORE_ONLY_NO_STABILITY, selector: "score-only", curriculum };
  }
  const ablation = ABLATIONS[name];
  if (ablation) return { label: name, selector: "sage", curriculum: ablation };
  return name as ComparisonMethod;
}

/** The full run's methods (docs/benchmarks.md, "Convergence v2": Design). */
export const FULL_METHODS = [
  "uniform",
  "random",
  "hard-mining",
  "small-margin",
  "selective",
  "curriculum-only",
  "score-only",
  SCORE_ONLY_NO_STABILITY,
  "sage",
  SFT_CHOSEN,
] as const;
/** `--quick`: the baseline, the subject, its two ablations on stability and the SFT control. */
export const QUICK_METHODS = ["uniform", "sage", "score-only", SCORE_ONLY_NO_STABILITY, SFT_CHOSEN] as const;
/** The label-noise arm (full run and `--quick`). */
export const NOISE_METHODS = ["uniform", "score-only", SCORE_ONLY_NO_STABILITY, "sage"] as const;
/** `--quick`'s tiny noise arm. */
export const QUICK_NOISE_METHODS = ["uniform", "sage"] as const;
/** `--ablations`: the methods run on the tuning seeds (the baseline, the subject, then `ABLATIONS`). */
export const ABLATION_METHODS: readonly string[] = ["uniform", "sage", ...Object.keys(ABLATIONS)];
/**
 * `--snr`: the methods whose gradient SNR is measured on the tuning seeds (descriptive, added after
 * the pre-registered run, whose plan measures none): the baseline, the fine score with and without
 * stability, and SAGE.
 */
export const SNR_METHODS = ["uniform", "score-only", SCORE_ONLY_NO_STABILITY, "sage"] as const;
/**
 * `--snr`'s training change: each batch of 8 as 2 micro-batches of 4 (the same mean gradient), and
 * the spec's SNR `‖ḡ‖² / ((1/M) Σ ‖g_j − ḡ‖²)` over them every 5 steps.
 */
export const SNR_TRAIN = { gradientAccumulation: 2, gradSnrEvery: 5 } as const;

/** `method` with `SNR_TRAIN` merged into its training config (a labelled spec under its own name). */
export function withSnr(name: string): ComparisonMethodSpec {
  const m = methodOf(name);
  if (typeof m !== "string") return { ...m, train: { ...(m.train ?? {}), ...SNR_TRAIN } };
  if (m === SFT_CHOSEN)
    invalid(`--snr: ${SFT_CHOSEN} takes no DPO step, so it has no gradient SNR to measure`);
  return { label: m, selector: m, train: { ...SNR_TRAIN } };
}
/** Reported seeds of a full run, and of `--quick`. */
export const FULL_SEEDS = [1, 2, 3, 4, 5] as const;
export const QUICK_SEEDS = [1, 2] as const;
/** Seeds that fix the target, never reported. */
export const TUNING_SEEDS = [100] as const;
/** The gate: uniform's gain on the tuning seeds, in points of pass@1, for the comparison to count. */
export const GATE_POINTS = 10;
/** Share of the candidates whose chosen and rejected answers the noise arm swaps. */
export const NOISE_SHARE = 0.2;
/** Seed of the noise arm's shuffle (fixed; pre-registered). */
export const NOISE_SEED = 7;

/**
 * The full benchmark's plan on chains: the gate's candidate set (200 pool problems per chain length
 * × 8 samples, ≤ 4 pairs each: ≈ 2,500 pairs), 30 held-out problems per length (150) × 8 samples at
 * T = 1, evaluated at steps 30, 60, 90, 120, 150 (5 points besides step 0), 150 steps of batch 8,
 * DPO + NLL at lr 2e-5 (the gate's setting).
 */
export const CHAINS_BENCH_PLAN: ExperimentPlan = {
  ...CHAINS_GATE_PLAN,
  evalProblemsPerLevel: 30,
  evalSampling: { samples: 8, temperature: 1 },
  steps: 150,
  evalEvery: 30,
};

/**
 * `--quick` on chains (a smoke run, ≤ 10 minutes on 2 shared cores with lavapipe): the demo's quick
 * pool (16 problems per length), 16 steps evaluated every 4 on 8 held-out problems per length × 2
 * samples (80 draws; too few to show anything but that the pipeline runs end to end).
 */
export const CHAINS_BENCH_QUICK_PLAN: ExperimentPlan = {
  ...CHAINS_QUICK_PLAN,
  evalProblemsPerLevel: 8,
  evalSampling: { samples: 2, temperature: 1 },
  steps: 16,
  evalEvery: 4,
};

/** The minimums for a reported run. */
export const DESIGN_MINIMUMS = {
  /** Candidates ≥ this × steps × batch size. */
  candidatesPerTrained: 2,
  /** SAGE's pool P ≤ candidates / this. */
  poolFraction: 3,
  reportedSeeds: 5,
  heldOutProblems: 150,
  evalSamples: 8,
  evalPoints: 4,
} as const;

/** What `checkDesign` looks at. */
export interface DesignFacts {
  readonly steps: number;
  readonly batchSize: number;
  /** Candidate pairs: the built count, or the plan's upper bound (pool problems × pairs per problem). */
  readonly candidates: number;
  /** SAGE's pool size P (`poolSize`, default 2 × batch × refreshEvery). */
  readonly pool: number;
  readonly seeds: readonly number[];
  readonly tuningSeeds: readonly number[];
  readonly heldOutProblems: number;
  readonly evalSamples: number;
  /** Evaluated steps after step 0. */
  readonly evalPoints: number;
}

/** The minimums a full run's design misses, in words (empty: it meets them all). */
export function checkDesign(d: DesignFacts): string[] {
  const m = DESIGN_MINIMUMS;
  const out: string[] = [];
  const need = m.candidatesPerTrained * d.steps * d.batchSize;
  if (d.candidates < need)
    out.push(
      `${d.candidates} candidate pairs < ${need} (${m.candidatesPerTrained} × ${d.steps} steps × batch ${d.batchSize})`,
    );
  if (d.pool * m.poolFraction > d.candidates)
    out.push(`SAGE's pool P = ${d.pool} > a third of the ${d.candidates} candidates`);
  if (d.seeds.length < m.reportedSeeds) out.push(`${d.seeds.length} reported seeds < ${m.reportedSeeds}`);
  const clash = d.seeds.filter((s) => d.tuningSeeds.includes(s));
  if (clash.length > 0) out.push(`reported seeds ${clash.join(", ")} are tuning seeds`);
  if (d.tuningSeeds.length < 1) out.push("no tuning seed");
  if (d.heldOutProblems < m.heldOutProblems)
    out.push(`${d.heldOutProblems} held-out problems < ${m.heldOutProblems}`);
  if (d.evalSamples < m.evalSamples)
    out.push(`${d.evalSamples} samples per held-out problem < ${m.evalSamples}`);
  if (d.evalPoints < m.evalPoints)
    out.push(`${d.evalPoints} evaluation points after step 0 < ${m.evalPoints}`);
  return out;
}

/** The evaluated steps of a plan after step 0: every `evalEvery`, and the last step. */
export function evalStepsOf(plan: Pick<ExperimentPlan, "steps" | "evalEvery">): number[] {
  const out: number[] = [];
  for (let s = plan.evalEvery; s < plan.steps; s += plan.evalEvery) out.push(s);
  out.push(plan.steps);
  return out;
}

/** Measured unit costs of a run (ms), from which `estimateMinutes` sizes another design. */
export interface UnitCosts {
  /** Pool sampling per sampled answer. */
  readonly sampleMs: number;
  /** One evaluation, per draw (held-out problem × sample). */
  readonly evalDrawMs: number;
  /** One optimiser step (scoring included), per method. */
  readonly stepMs: Readonly<Record<string, number>>;
}

/** Minutes of a design at some unit costs (`estimateMinutes`). */
export interface DesignMinutes {
  readonly total: number;
  readonly pool: number;
  readonly tuning: number;
  readonly reported: number;
  readonly noise: number;
}

/** Minutes a design takes at `costs`: pool + tuning + reported arm + noise arm (warm-up ignored). */
export function estimateMinutes(
  costs: UnitCosts,
  d: {
    readonly poolSamples: number;
    readonly evalDraws: number;
    readonly evalPoints: number;
    readonly steps: number;
    readonly seeds: number;
    readonly tuningSeeds: number;
    readonly methods: readonly string[];
    readonly noiseMethods: readonly string[];
  },
): DesignMinutes {
  const fallback = costs.stepMs.uniform ?? 0;
  const evalMs = d.evalDraws * costs.evalDrawMs;
  const run = (m: string) => d.steps * (costs.stepMs[m] ?? fallback) + d.evalPoints * evalMs;
  const arm = (methods: readonly string[]) => d.seeds * (evalMs + methods.reduce((s, m) => s + run(m), 0));
  const pool = d.poolSamples * costs.sampleMs;
  const tuning = d.tuningSeeds * (evalMs + run("uniform"));
  const reported = arm(d.methods);
  const noise = arm(d.noiseMethods);
  const min = (ms: number) => Math.round(ms / 6000) / 10;
  return {
    total: min(pool + tuning + reported + noise),
    pool: min(pool),
    tuning: min(tuning),
    reported: min(reported),
    noise: min(noise),
  };
}

// ───────────────────────────── what to run ─────────────────────────────

/** What a caller asks for (the flags of `npm run bench -- convergence` and `sage bench convergence`); absent: the defaults. */
export interface ConvergenceStudyRequest {
  /** `chains` (default) or `synthetic`. */
  readonly task?: string;
  /** A smoke run: the quick plan, seeds 1, 2, `QUICK_METHODS`, `QUICK_NOISE_METHODS`; not held to the minimums. */
  readonly quick?: boolean;
  /** `ABLATION_METHODS` on the tuning seeds only (descriptive; no reported seed is run). */
  readonly ablations?: boolean;
  /** `SNR_METHODS` with `SNR_TRAIN` on the tuning seeds only (descriptive; no reported seed is run). */
  readonly snr?: boolean;
  /** Default `FULL_METHODS` (`QUICK_METHODS` with `quick`); must include uniform and sage. */
  readonly methods?: readonly string[];
  /** The label-noise arm's methods (default `NOISE_METHODS`, `QUICK_NOISE_METHODS` with `quick`); empty: no arm. */
  readonly noiseMethods?: readonly string[];
  /** Reported seeds (default 1–5, `quick` 1, 2). */
  readonly seeds?: readonly number[];
  /** Default 100. */
  readonly tuningSeeds?: readonly number[];
  /** DPO steps per run (default the plan's). */
  readonly steps?: number;
}

/** A checked request with its defaults resolved: what `runConvergenceStudy` runs. */
export interface ConvergenceDesign {
  readonly task: TaskName;
  readonly quick: boolean;
  readonly ablations: boolean;
  readonly snr: boolean;
  readonly methods: readonly string[];
  readonly noiseMethods: readonly string[];
  readonly seeds: readonly number[];
  readonly tuningSeeds: readonly number[];
  readonly plan: ExperimentPlan;
  readonly batchSize: number;
  /** Evaluated steps after step 0 (`evalStepsOf(plan)`). */
  readonly evalSteps: readonly number[];
  /** SAGE's pool size P. */
  readonly pool: number;
  /** The minimums the plan misses before sampling (from its upper bound on candidates); only `quick` may miss any. */
  readonly upFrontMisses: readonly string[];
}

const MAX_SEED = 1_000_000;
const MAX_STEPS = 100_000;

function invalid(message: string): never {
  throw new TrainerError("CONFIG_INVALID", message);
}

/** `flag`'s comma-separated seeds: integers in [1, 1,000,000], none repeated (a typed `CONFIG_INVALID` error otherwise). */
export function parseSeedList(flag: string, text: string): number[] {
  const xs = text.split(",").map((part) => {
    const s = part.trim();
    if (!/^\d+$/.test(s)) invalid(`${flag}: expected a positive integer, received '${s.slice(0, 40)}'`);
    const n = Number(s);
    if (n < 1 || n > MAX_SEED) invalid(`${flag}: expected an integer in [1, ${MAX_SEED}], received ${n}`);
    return n;
  });
  if (new Set(xs).size !== xs.length) invalid(`${flag}: a seed is repeated in '${text.slice(0, 40)}'`);
  return xs;
}

/** `flag`'s comma-separated method names (`METHOD_NAMES`), none repeated (a typed `CONFIG_INVALID` error otherwise). */
export function parseMethodList(flag: string, text: string): string[] {
  return checkMethods(
    flag,
    text.split(",").map((s) => s.trim()),
  );
}

function checkMethods(flag: string, names: readonly string[]): string[] {
  const bad = names.find((n) => !METHOD_NAMES.includes(n));
  if (bad !== undefined)
    invalid(`${flag}: unknown '${String(bad).slice(0, 40)}'; expected some of ${METHOD_NAMES.join(", ")}`);
  if (new Set(names).size !== names.length) invalid(`${flag}: a method is repeated`);
  return [...names];
}

function checkSeeds(flag: string, seeds: readonly number[]): number[] {
  for (const n of seeds) {
    if (!Number.isInteger(n) || n < 1 || n > MAX_SEED)
      invalid(`${flag}: expected an integer in [1, ${MAX_SEED}], received ${describeValue(n)}`);
  }
  if (new Set(seeds).size !== seeds.length) invalid(`${flag}: a seed is repeated in ${seeds.join(",")}`);
  return [...seeds];
}

/** The plan of a task (`quick`: its smoke plan) with `steps` overridden (`evalEvery` capped at it). */
export function convergencePlan(task: TaskName, quick: boolean, steps?: number): ExperimentPlan {
  const base =
    task === "chains"
      ? quick
        ? CHAINS_BENCH_QUICK_PLAN
        : CHAINS_BENCH_PLAN
      : DEMO_PLANS[task][quick ? 1 : 0];
  return {
    ...base,
    steps: steps ?? base.steps,
    evalEvery: Math.min(base.evalEvery, steps ?? base.steps),
  };
}

/** The `DesignFacts` of a design with `candidates` candidate pairs. */
export function designFacts(d: ConvergenceDesign, candidates: number): DesignFacts {
  return {
    steps: d.plan.steps,
    batchSize: d.batchSize,
    candidates,
    pool: d.pool,
    seeds: d.seeds,
    tuningSeeds: d.tuningSeeds,
    heldOutProblems: d.plan.evalProblemsPerLevel * d.plan.levels.length,
    evalSamples: d.plan.evalSampling?.samples ?? 1,
    evalPoints: d.evalSteps.length,
  };
}

/**
 * Check a request and resolve its defaults, touching no GPU: the task, the method lists, the seeds,
 * then the design's pre-registered minimums (`checkDesign` on the plan's upper bound of candidates)
 * — a full run that misses one is refused; `quick` records them in `upFrontMisses`. Throws a
 * `TrainerError` `CONFIG_INVALID` whose message names the flag, what it expected and what it got.
 */
export function convergenceDesign(request: ConvergenceStudyRequest = {}): ConvergenceDesign {
  const taskName = request.task ?? "chains";
  if (!(TASK_NAMES as readonly string[]).includes(taskName))
    invalid(`--task: expected one of ${TASK_NAMES.join(", ")}, received '${String(taskName).slice(0, 40)}'`);
  const task = taskName as TaskName;
  const quick = request.quick ?? false;
  const ablations = request.ablations ?? false;
  const snr = request.snr ?? false;
  if (ablations && snr) invalid("--ablations and --snr are separate modes");
  const methods = request.methods
    ? checkMethods("--methods", request.methods)
    : [...(quick ? QUICK_METHODS : FULL_METHODS)];
  const noiseMethods = request.noiseMethods
    ? checkMethods("--noise-methods", request.noiseMethods)
    : [...(quick ? QUICK_NOISE_METHODS : NOISE_METHODS)];
  const seeds = request.seeds
    ? checkSeeds("--seeds", request.seeds)
    : [...(quick ? QUICK_SEEDS : FULL_SEEDS)];
  const tuningSeeds = request.tuningSeeds
    ? checkSeeds("--tuning-seeds", request.tuningSeeds)
    : [...TUNING_SEEDS];
  const steps = request.steps;
  if (steps !== undefined && !(Number.isInteger(steps) && steps >= 1 && steps <= MAX_STEPS))
    invalid(`--steps: expected an integer in [1, ${MAX_STEPS}], received ${describeValue(steps)}`);
  if (!methods.includes("uniform") || !methods.includes("sage"))
    invalid("--methods must include uniform (the baseline) and sage (the subject)");
  if (noiseMethods.length > 0 && !noiseMethods.includes("uniform"))
    invalid("--noise-methods must include uniform (the baseline), or be 'none'");
  if (seeds.length < 2) invalid("--seeds: the paired endpoints need at least 2 reported seeds");
  const clash = seeds.filter((s) => tuningSeeds.includes(s));
  if (clash.length > 0) invalid(`--seeds and --tuning-seeds share ${clash.join(", ")}`);
  const plan = convergencePlan(task, quick, steps);
  const batchSize = plan.train.batchSize ?? 8;
  const refreshEvery = plan.curriculum.refreshEvery ?? 10;
  const design: ConvergenceDesign = {
    task,
    quick,
    ablations,
    snr,
    methods,
    noiseMethods,
    seeds,
    tuningSeeds,
    plan,
    batchSize,
    evalSteps: evalStepsOf(plan),
    pool: plan.curriculum.poolSize ?? 2 * batchSize * refreshEvery,
    upFrontMisses: [],
  };
  // the design minimums, up front (the plan's upper bound on candidates; the built count later)
  const upFrontMisses = checkDesign(
    designFacts(design, plan.pairProblemsPerLevel * plan.levels.length * plan.maxPairsPerPrompt),
  );
  if (upFrontMisses.length > 0 && !quick)
    invalid(`the design misses the pre-registered minimums: ${upFrontMisses.join("; ")}`);
  return { ...design, upFrontMisses };
}

/**
 * The file stem of a study's results: `convergence-<task>-<first 3 words of the adapter>[-quick]`
 * (its run folders go to `<stem>-runs`, shared by every caller so a run resumes wherever it started).
 */
export function convergenceStudyName(task: string, adapter: string, quick: boolean): string {
  const words: string[] = [];
  for (const w of adapter.toLowerCase().split(/[^a-z0-9]+/)) if (w && !words.includes(w)) words.push(w);
  const slug = words.join("-").slice(0, 48).replace(/-+$/, "") || "unknown";
  return `convergence-${task}-${slug.split("-").slice(0, 3).join("-")}${quick ? "-quick" : ""}`;
}

// ───────────────────────────── the study ─────────────────────────────

/** The absolute target fixed on the tuning runs (`@sage/report`'s `tuningTarget` returns one). */
export interface ConvergenceTarget {
  readonly target: number;
  readonly start: number;
  readonly final: number;
}

export interface ConvergenceStudyOptions<T extends ConvergenceTarget = ConvergenceTarget> {
  /** From `convergenceDesign` (checked before any GPU work). */
  readonly design: ConvergenceDesign;
  /** The start policy (and reference) of every run. */
  readonly model: LoadedModel;
  readonly ctx: GpuContext;
  /** The study's run folders: `pairs.jsonl`, `tuning/`, `reported/`, `noise/`, `ablations/`. */
  readonly runDir: string;
  /** The target from the tuning runs (`(runs) => tuningTarget(runs)` of `@sage/report`). */
  readonly fixTarget: (tuningRuns: readonly ExperimentSeries[]) => T;
  /** Progress lines (default: stderr). */
  readonly log?: (line: string) => void;
}

/** What every study returns besides its mode's runs. */
export interface ConvergenceStudyCommon<T extends ConvergenceTarget = ConvergenceTarget> {
  readonly design: ConvergenceDesign;
  /** The candidate set: its size and how it was built (`buildPlanPairs`). */
  readonly candidates: { readonly pairs: number; readonly stats: BuildPairsResult["stats"] };
  /** Uniform on the tuning seeds (their own held-out split). */
  readonly tuning: ComparisonResult;
  /** `fixTarget`'s answer. */
  readonly fixedTarget: T;
  /** Its target clamped to [1e-6, 1]. */
  readonly target: number;
  /** Uniform's gain on the tuning seeds (points) against `GATE_POINTS`. */
  readonly gate: { readonly tuningGain: number; readonly points: number; readonly passed: boolean };
  /** How pass@1 is estimated, in words (`evalDescription(plan)`). */
  readonly evalDescription: string;
}

/** `runConvergenceStudy` of a comparison (not `ablations`). */
export interface ConvergenceComparisonStudy<T extends ConvergenceTarget = ConvergenceTarget>
  extends ConvergenceStudyCommon<T> {
  readonly mode: "comparison";
  /** Every method on the reported seeds. */
  readonly reported: ComparisonResult;
  /** The label-noise arm (null: no noise methods). */
  readonly noisy: ComparisonResult | null;
  readonly noise: { readonly share: number; readonly seed: number };
  /** The reported strata in words (`k = 2`, `level 3`). */
  readonly strataLabels: string[];
  /** The design's minimums checked on the built candidate set (empty: met). */
  readonly designMisses: string[];
  readonly timing: {
    /** Seconds from the first sample to the end of the last run. */
    readonly seconds: number;
    readonly unitCosts: UnitCosts;
    /** The full pre-registered design at these unit costs. */
    readonly fullDesignMinutes: DesignMinutes;
  };
}

/**
 * `runConvergenceStudy` with `ablations` (`ABLATION_METHODS`) or `snr` (`SNR_METHODS` with
 * `SNR_TRAIN`): descriptive runs on the tuning seeds.
 */
export interface ConvergenceAblationStudy<T extends ConvergenceTarget = ConvergenceTarget>
  extends ConvergenceStudyCommon<T> {
  readonly mode: "ablations";
  /** Which probe: SAGE's one-setting ablations, or the gradient-SNR measurement. */
  readonly kind: "ablations" | "snr";
  readonly ablations: ComparisonResult;
  /** What each run changes: the variants (`ABLATIONS`), or `SNR_TRAIN` for every method. */
  readonly variants: Readonly<Record<string, unknown>>;
  /** Seconds the ablation runs took. */
  readonly seconds: number;
}

export type ConvergenceStudy<T extends ConvergenceTarget = ConvergenceTarget> =
  | ConvergenceComparisonStudy<T>
  | ConvergenceAblationStudy<T>;

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/**
 * The convergence benchmark v2 on one start policy: build the candidate set once
 * (`buildPlanPairs`, seed 0; written to `<runDir>/pairs.jsonl`), check it against the minimums
 * (full runs), run `uniform` on the tuning seeds (`<runDir>/tuning`) to fix the target
 * (`fixTarget`) and the gate, then either the ablations on the tuning seeds (`<runDir>/ablations`)
 * or every method on the reported seeds (`<runDir>/reported`) and the label-noise arm
 * (`<runDir>/noise`), all with `runComparison` (resumable: a rerun on the same `runDir` loads the
 * finished runs). Returns the runs, the target, the gate, the measured unit costs and the full
 * design's budget at those costs; writing them is `@sage/report`'s `writeConvergenceStudy`.
 */
export async function runConvergenceStudy<T extends ConvergenceTarget>(
  options: ConvergenceStudyOptions<T>,
): Promise<ConvergenceStudy<T>> {
  const { design, model, ctx, runDir } = options;
  const { plan, quick, seeds, tuningSeeds, methods, noiseMethods, batchSize, evalSteps } = design;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (design.upFrontMisses.length > 0) {
    if (!quick) invalid(`the design misses the pre-registered minimums: ${design.upFrontMisses.join("; ")}`);
    log(`quick: smoke run, not held to the design minimums (${design.upFrontMisses.join("; ")})`);
  }
  const family = TASKS[design.task];
  const t0 = performance.now();
  const built = await buildPlanPairs(model, plan, { ctx, seed: 0, progress: false });
  const sampleMs = (performance.now() - t0) / (built.stats.samples || 1);
  await writePreferencePairs(join(runDir, "pairs.jsonl"), built.pairs);
  log(
    `candidates: ${built.pairs.length} pairs from ${built.stats.withPairs} of ${built.stats.problems} problems (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
  );
  const builtMisses = checkDesign(designFacts(design, built.pairs.length));
  if (builtMisses.length > 0 && !quick)
    invalid(`the candidate set misses the pre-registered minimums: ${builtMisses.join("; ")}`);
  const policies = webGpuComparisonPolicies({
    model,
    ctx,
    ...(plan.evalSampling ? { evalSampling: plan.evalSampling } : {}),
    maxNewTokens: plan.maxNewTokens,
    evalBatchSize: 64,
    grade: family.grade,
  });
  // time every evaluation (the budget estimate of the full design)
  const evalTimes: { ms: number; draws: number }[] = [];
  const evaluate: ComparisonOptions["evaluate"] = async (policy, problems, at) => {
    const t = performance.now();
    const r = await policies.evaluate(policy, problems, at);
    evalTimes.push({
      ms: performance.now() - t,
      draws: problems.length * (plan.evalSampling?.samples ?? 1),
    });
    return r;
  };
  const { batchSize: _b, ...train } = plan.train;
  const common = {
    pairs: built.pairs,
    startPolicy: policies.startPolicy,
    evaluate,
    steps: plan.steps,
    batchSize,
    evalSteps,
    train,
    curriculum: plan.curriculum,
    log,
  };
  // 1. the target, fixed on the tuning seeds (their own held-out split) before any reported run
  const tuning = await runComparison({
    ...common,
    problems: planEvalProblems(plan, { tuning: true }),
    methods: ["uniform"],
    seeds: tuningSeeds,
    runDir: join(runDir, "tuning"),
  });
  const fixed = options.fixTarget(tuning.runs);
  const target = Math.min(1, Math.max(1e-6, fixed.target));
  // the gate (docs/benchmarks.md): the comparison counts only if uniform gains ≥ 10 points on the tuning seeds
  const tuningGain = 100 * (fixed.final - fixed.start);
  const gatePassed = tuningGain >= GATE_POINTS;
  log(
    `target: ${pct(target)} (uniform on tuning seeds ${tuningSeeds.join(", ")}: ${pct(fixed.start)} → ${pct(fixed.final)}, ${tuningGain >= 0 ? "+" : ""}${tuningGain.toFixed(1)} points)`,
  );
  if (!gatePassed)
    log(
      `gate: uniform gained ${tuningGain.toFixed(1)} < ${GATE_POINTS} points on the tuning seeds; the comparison does not count${quick ? " (expected for --quick)" : ""}`,
    );
  const studyCommon: ConvergenceStudyCommon<T> = {
    design,
    candidates: { pairs: built.pairs.length, stats: built.stats },
    tuning,
    fixedTarget: fixed,
    target,
    gate: { tuningGain, points: GATE_POINTS, passed: gatePassed },
    evalDescription: evalDescription(plan),
  };
  if (design.ablations || design.snr) {
    // SAGE's ablations beside uniform and sage, or the SNR probe, on the tuning seeds only (their own held-out split)
    const ta = performance.now();
    const ablations = await runComparison({
      ...common,
      problems: planEvalProblems(plan, { tuning: true }),
      methods: design.snr ? SNR_METHODS.map(withSnr) : ABLATION_METHODS.map(methodOf),
      seeds: tuningSeeds,
      runDir: join(runDir, design.snr ? "snr" : "ablations"),
    });
    return {
      ...studyCommon,
      mode: "ablations",
      kind: design.snr ? "snr" : "ablations",
      ablations,
      variants: design.snr ? Object.fromEntries(SNR_METHODS.map((m) => [m, SNR_TRAIN])) : ABLATIONS,
      seconds: (performance.now() - ta) / 1000,
    };
  }
  // 2. every method on the reported seeds
  const problems = planEvalProblems(plan);
  const reported = await runComparison({
    ...common,
    problems,
    methods: methods.map(methodOf),
    seeds,
    runDir: join(runDir, "reported"),
  });
  // 3. the label-noise arm: same candidates with a seeded share swapped, same target
  const noise = { share: NOISE_SHARE, seed: NOISE_SEED };
  const noisy =
    noiseMethods.length > 0
      ? await runComparison({
          ...common,
          problems,
          methods: noiseMethods.map(methodOf),
          seeds,
          labelNoise: noise,
          runDir: join(runDir, "noise"),
        })
      : null;
  // unit costs measured here, and the full design's budget at those costs
  const stepMs: Record<string, number> = {};
  for (const m of new Set([...methods, ...noiseMethods])) {
    const ds = [...reported.details, ...(noisy?.details ?? [])].filter((d) => d.method === m);
    const st = ds.reduce((s, d) => s + d.steps, 0);
    if (st > 0) stepMs[m] = ds.reduce((s, d) => s + d.wallMs, 0) / st;
  }
  const draws = evalTimes.reduce((s, e) => s + e.draws, 0);
  const unitCosts: UnitCosts = {
    sampleMs,
    evalDrawMs: draws > 0 ? evalTimes.reduce((s, e) => s + e.ms, 0) / draws : 0,
    stepMs,
  };
  const full = CHAINS_BENCH_PLAN;
  const fullDesignMinutes = estimateMinutes(unitCosts, {
    poolSamples: full.pairProblemsPerLevel * full.levels.length * full.samples,
    evalDraws: full.evalProblemsPerLevel * full.levels.length * (full.evalSampling?.samples ?? 1),
    evalPoints: evalStepsOf(full).length,
    steps: full.steps,
    seeds: DESIGN_MINIMUMS.reportedSeeds,
    tuningSeeds: 1,
    methods: FULL_METHODS,
    noiseMethods: NOISE_METHODS,
  });
  const seconds = (performance.now() - t0) / 1000;
  log(
    `took ${seconds.toFixed(0)} s; full design at these unit costs: ${fullDesignMinutes.total} min (pool ${fullDesignMinutes.pool}, tuning ${fullDesignMinutes.tuning}, reported ${fullDesignMinutes.reported}, noise ${fullDesignMinutes.noise})`,
  );
  return {
    ...studyCommon,
    mode: "comparison",
    reported,
    noisy,
    noise,
    strataLabels: reported.strata.map(family.stratumLabel),
    designMisses: builtMisses,
    timing: { seconds, unitCosts, fullDesignMinutes },
  };
}
