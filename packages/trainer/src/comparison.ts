import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { RunPoint, RunSeries } from "@sage/core";
import { type CurriculumConfigInput, SELECTOR_NAMES, type SelectorName } from "@sage/curriculum";
import type { GpuContext } from "@sage/kernels-webgpu";
import { type LoadedModel, Policy } from "@sage/model";
import { z } from "zod";
import { atomicWriteJson } from "./atomic.js";
import { CheckpointManager } from "./checkpoint.js";
import { type DpoTrainConfigInput, parseDpoTrainConfig } from "./config.js";
import { curriculumSelector } from "./curriculum-adapter.js";
import { type PreferencePair, preferenceDataHash } from "./data.js";
import { learningRateAt } from "./dpo.js";
import { startSelector } from "./dpo-stages.js";
import { describeValue, TrainerError } from "./errors.js";
import { sha256 } from "./hash.js";
import { loopSchedule, policyStateProvider } from "./loop.js";
import type { MetricsRecord } from "./metrics.js";
import { evaluatePassAt1, type Grader, type Problem } from "./pairs.js";
import type { PolicyLike } from "./policy.js";
import { RefLogProbCache } from "./ref-cache.js";
import { Rng } from "./rng.js";
import type { TrainingSelector } from "./selector.js";
import type { SequencePolicyLike, SftExample } from "./sft.js";
import type { StopController } from "./signals.js";
import { runDpo } from "./train.js";
import { WebGpuPolicy, webGpuSampler } from "./webgpu-policy.js";

/*
 * The paired comparison runner of the convergence benchmark v2 (docs/benchmarks.md, "Convergence
 * v2: endpoints and runner (library)"): every (seed, method) from one start policy and one
 * candidate set, in interleaved order, step 0 evaluated once per seed, wall-clock measured inside
 * the optimiser steps only (after an untimed warm-up), per-run results written atomically so a
 * crashed comparison resumes where it stopped.
 */

/** One evaluation point of a run (`@sage/core`'s `RunPoint`, what `@sage/report` reads). */
export type ExperimentPoint = RunPoint;

/** All points of one (method, seed) run (`@sage/core`'s `RunSeries`). */
export type ExperimentSeries = RunSeries;

/** The control that is not a selector: SFT (token-mean NLL) on the chosen responses of the batches `uniform` draws. */
export const SFT_CHOSEN = "sft-chosen";

/** Training settings shared by every run; the comparison sets `steps`, `seed`, `batchSize`, `evalEvery`, `checkpointEvery`. */
export type ComparisonTrainConfig = Omit<
  DpoTrainConfigInput,
  "steps" | "seed" | "batchSize" | "evalEvery" | "checkpointEvery"
>;

/**
 * One compared method: a selector of `@sage/curriculum` with config overrides (merged over the shared
 * `curriculum`, `stability` field by field) and optional training overrides, or the
 * {@link SFT_CHOSEN} control. `label` names the series and the run folder.
 */
export interface ComparisonMethodSpec {
  readonly label: string;
  readonly selector: SelectorName | typeof SFT_CHOSEN;
  readonly curriculum?: CurriculumConfigInput;
  readonly train?: ComparisonTrainConfig;
}

/** A plain selector name (its own label), `"sft-chosen"`, or a labelled spec. */
export type ComparisonMethod = SelectorName | typeof SFT_CHOSEN | ComparisonMethodSpec;

/** A policy the runner can train with DPO and, for the SFT control, with plain NLL. */
export type ComparisonPolicy = PolicyLike & Partial<Pick<SequencePolicyLike, "accumulateSequenceGradient">>;

/** A fresh copy of the start policy; `destroy` frees it (GPU buffers) when the runner is done with it. */
export interface ComparisonPolicyHandle {
  readonly policy: ComparisonPolicy;
  destroy?(): void | Promise<void>;
}

/** Why the runner asks for a start-policy copy. */
export interface StartPolicyRequest {
  /** `initial`: step-0 evaluations and the design fingerprint; `warmup`: a throwaway copy; `run`: one (seed, method) run. */
  readonly purpose: "initial" | "warmup" | "run";
  readonly seed?: number;
  readonly method?: string;
}

/** Label-noise arm: flip chosen ↔ rejected of `round(share · n)` pairs chosen by a seeded shuffle. */
export interface LabelNoise {
  readonly share: number;
  readonly seed: number;
}

export interface ComparisonOptions {
  /** The one candidate set every run draws from (built once, before). */
  readonly pairs: readonly PreferencePair[];
  /** Held-out problems; `level` gives the strata (ascending = easiest first). */
  readonly problems: readonly Problem[];
  /** A fresh copy of the start policy per call (every run starts from the same weights). */
  readonly startPolicy: (
    request: StartPolicyRequest,
  ) => ComparisonPolicyHandle | Promise<ComparisonPolicyHandle>;
  /**
   * pass@1 of `policy` on `problems` (the record of `evaluatePassAt1`: `eval/pass@1` and
   * `eval/pass@1/level_<L>`). `method` is null for the step-0 evaluation shared by a seed's runs.
   */
  readonly evaluate: (
    policy: ComparisonPolicy,
    problems: readonly Problem[],
    at: { readonly seed: number; readonly step: number; readonly method: string | null },
  ) => Promise<Readonly<Record<string, number>>>;
  readonly methods: readonly ComparisonMethod[];
  /** Reported (or tuning) seeds; every method runs once per seed. */
  readonly seeds: readonly number[];
  readonly steps: number;
  readonly batchSize: number;
  /** Evaluated steps after step 0: strictly increasing integers in [1, steps], the last one `steps`. */
  readonly evalSteps: readonly number[];
  readonly train?: ComparisonTrainConfig;
  /** Selector config shared by every method (`refreshEvery`, `nStrata`, `stability`, …; not `batchSize`). */
  readonly curriculum?: CurriculumConfigInput;
  readonly labelNoise?: LabelNoise;
  /** Runs in `<runDir>/<label>-s<seed>/`, results in `<runDir>/results/`, the reference cache in `<runDir>/ref-cache/`. */
  readonly runDir: string;
  /** Untimed warm-up steps per method on a throwaway policy before the first timed run (default 1; 0: none). */
  readonly warmupSteps?: number;
  /** Milliseconds clock of the wall-clock measurement (default `performance.now`). */
  readonly clock?: () => number;
  /** Selector factory (default `curriculumSelector`). */
  readonly selectorFactory?: (name: SelectorName, config: CurriculumConfigInput) => TrainingSelector;
  readonly stop?: StopController;
  /** Called before each run that is trained (not for runs loaded from `results/`). */
  readonly onRunStart?: (run: {
    readonly seed: number;
    readonly method: string;
    readonly index: number;
  }) => void;
  readonly log?: (line: string) => void;
}

/** Totals of one run besides its points. */
export interface ComparisonRunDetail {
  readonly method: string;
  readonly seed: number;
  readonly kind: "dpo" | "sft-chosen";
  readonly runDir: string;
  readonly steps: number;
  /** Σ per-step wall-clock (scoring included; setup, evaluation, checkpoints and warm-up excluded), ms. */
  readonly wallMs: number;
  /** Σ scoring-pass time inside the steps, ms. */
  readonly scoringMs: number;
  readonly meanSnr: number | null;
  readonly nonFiniteSteps: number;
  /** Candidate-set indices trained at each step. */
  readonly batches: number[][];
  /** Distinct pairs trained on. */
  readonly distinctPairs: number;
  /** Selections of label-flipped pairs (0 without label noise). */
  readonly flippedSelections: number;
  /** The last step's numeric metrics. */
  readonly last: Readonly<Record<string, number>>;
}

export interface ComparisonResult {
  /** One series per (seed, method) in run order (`@sage/report`'s `RunSeries`). */
  readonly runs: ExperimentSeries[];
  readonly details: ComparisonRunDetail[];
  /** The interleaved schedule: seed-major, method order rotated by one per seed. */
  readonly order: { seed: number; method: string }[];
  /** Runs loaded from `results/` instead of trained. */
  readonly resumed: { seed: number; method: string }[];
  /** The step-0 point of each seed (shared by all its runs). */
  readonly initial: { seed: number; point: ExperimentPoint }[];
  readonly strata: number[];
  readonly labelNoise: { share: number; seed: number; flippedIds: string[] } | null;
  /** False when a stop request ended the comparison early (`runs` holds the finished ones). */
  readonly complete: boolean;
}

/** `over` on top of `base`; `stability` merged field by field. */
export function mergeCurriculum(
  base: CurriculumConfigInput | undefined,
  over: CurriculumConfigInput | undefined,
): CurriculumConfigInput {
  const merged: CurriculumConfigInput = { ...(base ?? {}), ...(over ?? {}) };
  if (base?.stability && over?.stability) {
    return { ...merged, stability: { ...base.stability, ...over.stability } };
  }
  return merged;
}

/** An evaluation record (`eval/pass@1`, `eval/pass@1/level_<L>`) as a point at step 0, wall 0. */
export function evalRecordToPoint(
  r: Readonly<Record<string, number>>,
  strata: readonly number[],
): ExperimentPoint {
  const accuracy = r["eval/pass@1"];
  if (typeof accuracy !== "number" || !(accuracy >= 0 && accuracy <= 1)) {
    throw new TrainerError(
      "POLICY_INVALID",
      `evaluation: expected "eval/pass@1" in [0, 1]; received ${describeValue(accuracy)}`,
    );
  }
  const point: ExperimentPoint = { step: 0, wallMs: 0, accuracy };
  if (strata.length > 0) point.byStratum = strata.map((l) => r[`eval/pass@1/level_${l}`] ?? 0);
  return point;
}

/**
 * The label-noise transform: flip chosen ↔ rejected (and their reference log-probs) of
 * `round(share · n)` pairs picked by a shuffle seeded with `seed`; ids, prompts and difficulties
 * stay. Returns the new candidate set and the flipped ids (in candidate-set order).
 */
export function flipLabels(
  pairs: readonly PreferencePair[],
  noise: LabelNoise,
): { pairs: PreferencePair[]; flippedIds: string[] } {
  if (!(noise.share >= 0 && noise.share <= 1)) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `labelNoise.share must be a number in [0, 1]; received ${describeValue(noise.share)}`,
    );
  }
  if (!Number.isSafeInteger(noise.seed)) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `labelNoise.seed must be a safe integer; received ${describeValue(noise.seed)}`,
    );
  }
  const n = Math.round(noise.share * pairs.length);
  const picked = new Set(new Rng(noise.seed).shuffle(pairs.map((_, i) => i)).slice(0, n));
  const out = pairs.map((p, i) => {
    if (!picked.has(i)) return p;
    const { refChosenLogps, refRejectedLogps, ...rest } = p;
    return {
      ...rest,
      chosen: p.rejected,
      rejected: p.chosen,
      ...(refChosenLogps !== undefined && refRejectedLogps !== undefined
        ? { refChosenLogps: refRejectedLogps, refRejectedLogps: refChosenLogps }
        : {}),
    };
  });
  return { pairs: out, flippedIds: pairs.filter((_, i) => picked.has(i)).map((p) => p.id) };
}

/** The interleaved run order: seed-major; the method list rotated left by `i mod M` for the i-th seed. */
export function interleavedOrder<M>(
  seeds: readonly number[],
  methods: readonly M[],
): { seed: number; method: M }[] {
  const out: { seed: number; method: M }[] = [];
  seeds.forEach((seed, i) => {
    for (let k = 0; k < methods.length; k++) out.push({ seed, method: methods[(i + k) % methods.length]! });
  });
  return out;
}

const RESULT_FORMAT = "sage-comparison-run/1";
const INITIAL_FORMAT = "sage-comparison-initial/1";

const pointSchema = z
  .object({
    step: z.number().int().min(0),
    wallMs: z.number().min(0),
    accuracy: z.number().min(0).max(1),
    byStratum: z.array(z.number().min(0).max(1)).optional(),
    frontier: z.number().optional(),
    snr: z.number().optional(),
    scoringMs: z.number().min(0).optional(),
  })
  .strict();
const initialFileSchema = z.object({
  format: z.literal(INITIAL_FORMAT),
  design: z.string(),
  seed: z.number().int(),
  point: pointSchema,
});
const resultFileSchema = z.object({
  format: z.literal(RESULT_FORMAT),
  design: z.string(),
  spec: z.string(),
  series: z.object({ method: z.string(), seed: z.number().int(), points: z.array(pointSchema).min(1) }),
  detail: z.object({
    method: z.string(),
    seed: z.number().int(),
    kind: z.enum(["dpo", "sft-chosen"]),
    runDir: z.string(),
    steps: z.number().int(),
    wallMs: z.number().min(0),
    scoringMs: z.number().min(0),
    meanSnr: z.number().nullable(),
    nonFiniteSteps: z.number().int().min(0),
    batches: z.array(z.array(z.number().int().min(0))),
    distinctPairs: z.number().int().min(0),
    flippedSelections: z.number().int().min(0),
    last: z.record(z.string(), z.number()),
  }),
});

/** One finished (method, seed) run of a comparison folder, as `readComparisonResults` reads it. */
export interface StoredComparisonRun {
  /** The run's folder name in the comparison folder (`<label>-s<seed>`, `:` written `_`). */
  readonly folder: string;
  readonly series: ExperimentSeries;
  readonly kind: "dpo" | "sft-chosen";
  readonly steps: number;
}

const RESULT_FILE = /^(.+)-s(\d+)\.json$/;

/**
 * The finished runs of a comparison folder (`runComparison`'s `runDir`): every
 * `results/<label>-s<seed>.json` parsed against the result format, sorted by file name (the step-0
 * files `initial-s<seed>.json` are not runs). A folder without `results/` has none; a file of
 * another format is a `CONFIG_INVALID` error naming it.
 */
export async function readComparisonResults(runDir: string): Promise<StoredComparisonRun[]> {
  let names: string[];
  try {
    names = await readdir(join(runDir, "results"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const out: StoredComparisonRun[] = [];
  for (const name of names.sort()) {
    const m = RESULT_FILE.exec(name);
    if (!m || name.startsWith("initial-s")) continue;
    const r = await readStored(join(runDir, "results", name), resultFileSchema);
    if (!r) continue;
    if (r.series.seed !== Number(m[2])) {
      throw new TrainerError(
        "CONFIG_INVALID",
        `${join(runDir, "results", name)}: expected the result of seed ${m[2]} (its file name); received seed ${r.series.seed}`,
      );
    }
    out.push({
      folder: `${m[1]}-s${m[2]}`,
      series: r.series as ExperimentSeries,
      kind: r.detail.kind,
      steps: r.detail.steps,
    });
  }
  return out;
}

/** A stored JSON file parsed against `schema`; undefined when absent; `CONFIG_INVALID` when unreadable. */
async function readStored<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S> | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new TrainerError(
      "CONFIG_INVALID",
      `${path}: expected a JSON result file; received unparsable text`,
    );
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `${path}: expected a comparison result file (${parsed.error.issues[0]?.path.join(".") ?? ""}: ${parsed.error.issues[0]?.message ?? "invalid"}); remove it to rerun that run`,
    );
  }
  return parsed.data;
}

/** Measures wall-clock inside optimiser steps only, and scoring passes inside them. */
class StepTimer {
  wallMs = 0;
  scoringMs = 0;
  #start: number | null = null;
  readonly #clock: () => number;
  constructor(clock: () => number) {
    this.#clock = clock;
  }
  /** Open the step window (idempotent while open). */
  begin(): void {
    if (this.#start === null) this.#start = this.#clock();
  }
  /** Close it, adding its length. */
  end(): void {
    if (this.#start === null) return;
    this.wallMs += this.#clock() - this.#start;
    this.#start = null;
  }
  async scoring<T>(f: () => Promise<T>): Promise<T> {
    if (this.#start === null) return f();
    const t = this.#clock();
    try {
      return await f();
    } finally {
      this.scoringMs += this.#clock() - t;
    }
  }
}

/** The selector, opening the timer's step window at the step's first call (as `runDpo` starts its step clock). */
function timedSelector(inner: TrainingSelector, timer: StepTimer, batches: number[][]): TrainingSelector {
  return {
    name: inner.name,
    init: (ctx) => inner.init(ctx),
    nextScoringRequest: (step) => {
      timer.begin();
      return inner.nextScoringRequest(step);
    },
    receiveScores: (scored) => inner.receiveScores(scored),
    selectBatch: (step, batchSize) => {
      timer.begin();
      const b = inner.selectBatch(step, batchSize);
      batches.push([...b]);
      return b;
    },
    observeTrained: (step, indices, logps) => inner.observeTrained(step, indices, logps),
    metrics: () => inner.metrics(),
    getState: () => inner.getState(),
    setState: (s) => inner.setState(s),
  };
}

/** The policy, timing its scoring passes (forward-only calls) inside step windows. */
function timedPolicy(inner: PolicyLike, timer: StepTimer): PolicyLike {
  return {
    sequenceLogProbs: (pairs, options) => timer.scoring(() => inner.sequenceLogProbs(pairs, options)),
    accumulateGradient: (pairs, lossGradient) => inner.accumulateGradient(pairs, lossGradient),
    applyGradients: (options) => inner.applyGradients(options),
    discardGradients: () => inner.discardGradients(),
    fingerprint: () => inner.fingerprint(),
    saveState: (dir) => inner.saveState(dir),
    loadState: (dir) => inner.loadState(dir),
    ...(inner.readGradient ? { readGradient: () => inner.readGradient!() } : {}),
  };
}

interface NormalisedMethod {
  label: string;
  folder: string;
  selector: SelectorName | typeof SFT_CHOSEN;
  curriculum: CurriculumConfigInput;
  train: ComparisonTrainConfig;
  specHash: string;
}

function normaliseMethods(options: ComparisonOptions): NormalisedMethod[] {
  if (options.methods.length === 0)
    throw new TrainerError("CONFIG_INVALID", "runComparison needs at least one method");
  const out = options.methods.map((m): NormalisedMethod => {
    const spec: ComparisonMethodSpec = typeof m === "string" ? { label: m, selector: m } : m;
    if (typeof spec.label !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._:=+-]*$/.test(spec.label)) {
      throw new TrainerError(
        "CONFIG_INVALID",
        `method labels must be non-empty, start with a letter or digit and use only A–Z a–z 0–9 . _ : = + -; received ${describeValue(spec.label)}`,
      );
    }
    if (spec.selector !== SFT_CHOSEN && !SELECTOR_NAMES.includes(spec.selector)) {
      throw new TrainerError(
        "CONFIG_INVALID",
        `method ${spec.label}: selector must be one of ${[...SELECTOR_NAMES, SFT_CHOSEN].join(", ")}; received ${describeValue(spec.selector)}`,
      );
    }
    const curriculum = mergeCurriculum(options.curriculum, spec.curriculum);
    const train = { ...(options.train ?? {}), ...(spec.train ?? {}) };
    return {
      label: spec.label,
      folder: spec.label.replaceAll(":", "_"),
      selector: spec.selector,
      curriculum,
      train,
      specHash: sha256(JSON.stringify({ selector: spec.selector, curriculum, train })),
    };
  });
  const labels = new Set(out.map((m) => m.label));
  const folders = new Set(out.map((m) => m.folder));
  if (labels.size !== out.length || folders.size !== out.length) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `method labels must be distinct (also after ":" → "_"); received ${describeValue(out.map((m) => m.label))}`,
    );
  }
  return out;
}

function validate(options: ComparisonOptions): void {
  const { seeds, steps, batchSize, evalSteps } = options;
  if (
    seeds.length === 0 ||
    seeds.some((s) => !Number.isSafeInteger(s)) ||
    new Set(seeds).size !== seeds.length
  ) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `seeds must be a non-empty list of distinct integers; received ${describeValue(seeds)}`,
    );
  }
  if (!Number.isInteger(steps) || steps < 1) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `steps must be an integer ≥ 1; received ${describeValue(steps)}`,
    );
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `batchSize must be an integer ≥ 1; received ${describeValue(batchSize)}`,
    );
  }
  const increasing = evalSteps.every(
    (s, i) => Number.isInteger(s) && s >= 1 && s <= steps && (i === 0 || s > evalSteps[i - 1]!),
  );
  if (evalSteps.length === 0 || !increasing || evalSteps[evalSteps.length - 1] !== steps) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `evalSteps must be strictly increasing integers in [1, steps = ${steps}] ending at ${steps} (step 0 is always evaluated); received ${describeValue(evalSteps)}`,
    );
  }
  if (options.pairs.length === 0) throw new TrainerError("DATA_EMPTY", "runComparison needs candidate pairs");
  if (options.problems.length === 0)
    throw new TrainerError("DATA_EMPTY", "runComparison needs held-out problems");
  const warmup = options.warmupSteps ?? 1;
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `warmupSteps must be an integer ≥ 0; received ${describeValue(warmup)}`,
    );
  }
}

/**
 * Run every (seed, method) of a paired comparison from ONE start policy and ONE candidate set
 * (optionally label-flipped): runs in interleaved order (seed-major, the method list rotated by one
 * per seed, so no method always runs first or last), step 0 evaluated once per seed and shared by
 * its runs, evaluations at `evalSteps`; wall-clock is the sum of the optimiser steps' own time
 * (scoring passes included; setup, reference log-probs, evaluation, checkpoint writes excluded),
 * measured after an untimed warm-up of every method on a throwaway policy. Each finished run is
 * written atomically to `<runDir>/results/<label>-s<seed>.json`; a rerun with the same design loads
 * those and trains only the rest (an unfinished run restarts from scratch, its folder removed).
 */
export async function runComparison(options: ComparisonOptions): Promise<ComparisonResult> {
  validate(options);
  const methods = normaliseMethods(options);
  const { seeds, steps, batchSize, evalSteps, runDir, problems } = options;
  const clock = options.clock ?? (() => performance.now());
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const factory = options.selectorFactory ?? curriculumSelector;
  const warmupSteps = options.warmupSteps ?? 1;
  const resultsDir = join(runDir, "results");
  const refCacheDir = join(runDir, "ref-cache");
  const evalSet = new Set(evalSteps);

  let pairs: readonly PreferencePair[] = options.pairs;
  let labelNoise: ComparisonResult["labelNoise"] = null;
  if (options.labelNoise) {
    const flipped = flipLabels(options.pairs, options.labelNoise);
    pairs = flipped.pairs;
    labelNoise = { ...options.labelNoise, flippedIds: flipped.flippedIds };
    await atomicWriteJson(join(runDir, "label-noise.json"), labelNoise);
  }
  const flippedIndex = new Set(
    labelNoise ? pairs.flatMap((p, i) => (labelNoise!.flippedIds.includes(p.id) ? [i] : [])) : [],
  );
  const levels = problems.map((p) => p.level);
  const strata = levels.every((l) => l !== undefined)
    ? [...new Set(levels as number[])].sort((a, b) => a - b)
    : [];

  const withHandle = async <T>(
    request: StartPolicyRequest,
    f: (policy: ComparisonPolicy) => Promise<T>,
  ): Promise<T> => {
    const handle = await options.startPolicy(request);
    try {
      return await f(handle.policy);
    } finally {
      await handle.destroy?.();
    }
  };

  // the design every stored result must share (the start policy by its weights' fingerprint)
  const initial: ComparisonResult["initial"] = [];
  const design = await withHandle({ purpose: "initial" }, async (policy) => {
    const hash = sha256(
      JSON.stringify({
        start: await policy.fingerprint(),
        pairs: preferenceDataHash(pairs),
        problems: problems.map((p) => [p.id, p.prompt, p.answer, p.level ?? null]),
        steps,
        batchSize,
        evalSteps,
        labelNoise: options.labelNoise ?? null,
      }),
    );
    // step 0: once per seed (the evaluation may sample with the seed), shared by that seed's runs
    for (const seed of seeds) {
      const path = join(resultsDir, `initial-s${seed}.json`);
      const stored = await readStored(path, initialFileSchema);
      if (stored && stored.design !== hash) {
        throw new TrainerError(
          "CONFIG_INVALID",
          `${path} belongs to a different comparison design (start policy, pairs, problems, steps, batch size, evalSteps or label noise differ); use a new runDir`,
        );
      }
      let point: ExperimentPoint;
      if (stored) point = stored.point as ExperimentPoint;
      else {
        point = evalRecordToPoint(
          await options.evaluate(policy, problems, { seed, step: 0, method: null }),
          strata,
        );
        await atomicWriteJson(path, { format: INITIAL_FORMAT, design: hash, seed, point });
      }
      initial.push({ seed, point });
      log(`seed ${seed}: start pass@1 ${(100 * point.accuracy).toFixed(1)}%`);
    }
    return hash;
  });

  const order = interleavedOrder(seeds, methods);
  const stored = new Map<string, z.output<typeof resultFileSchema>>();
  for (const { seed, method } of order) {
    const path = join(resultsDir, `${method.folder}-s${seed}.json`);
    const r = await readStored(path, resultFileSchema);
    if (!r) continue;
    if (
      r.design !== design ||
      r.spec !== method.specHash ||
      r.series.method !== method.label ||
      r.series.seed !== seed
    ) {
      throw new TrainerError(
        "CONFIG_INVALID",
        `${path} was written by a different design or method config than (${method.label}, seed ${seed}) has now; use a new runDir or remove the file`,
      );
    }
    stored.set(`${method.label}/${seed}`, r);
  }
  const pending = order.filter(({ seed, method }) => !stored.has(`${method.label}/${seed}`));

  const context: RunContext = { options, pairs, strata, evalSet, refCacheDir, factory, flippedIndex, log };
  // untimed warm-up: every pending method once, on a throwaway copy, so one-time costs (pipeline
  // compilation, the reference log-probs) fall outside every timed run alike
  if (warmupSteps > 0 && pending.length > 0) {
    const seen = new Set<string>();
    for (const { seed, method } of pending) {
      if (seen.has(method.label)) continue;
      seen.add(method.label);
      const dir = join(runDir, "warmup", method.folder);
      await rm(dir, { recursive: true, force: true });
      await withHandle({ purpose: "warmup", seed, method: method.label }, (policy) =>
        trainOne(context, method, seed, policy, dir, warmupSteps, new StepTimer(clock), null),
      );
      await rm(dir, { recursive: true, force: true });
    }
    log(`warm-up: ${seen.size} method(s) × ${warmupSteps} untimed step(s)`);
  }

  const runs: ExperimentSeries[] = [];
  const details: ComparisonRunDetail[] = [];
  const resumed: ComparisonResult["resumed"] = [];
  let complete = true;
  for (const [index, { seed, method }] of order.entries()) {
    const done = stored.get(`${method.label}/${seed}`);
    if (done) {
      runs.push(done.series as ExperimentSeries);
      details.push(done.detail as ComparisonRunDetail);
      resumed.push({ seed, method: method.label });
      continue;
    }
    if (options.stop?.requested) {
      complete = false;
      break;
    }
    options.onRunStart?.({ seed, method: method.label, index });
    const dir = join(runDir, `${method.folder}-s${seed}`);
    await rm(dir, { recursive: true, force: true });
    const start = initial.find((i) => i.seed === seed)!.point;
    const out = await withHandle({ purpose: "run", seed, method: method.label }, (policy) =>
      trainOne(context, method, seed, policy, dir, steps, new StepTimer(clock), start),
    );
    if (!out) {
      complete = false;
      break;
    }
    await atomicWriteJson(join(resultsDir, `${method.folder}-s${seed}.json`), {
      format: RESULT_FORMAT,
      design,
      spec: method.specHash,
      series: out.series,
      detail: out.detail,
    });
    runs.push(out.series);
    details.push(out.detail);
    log(
      `${method.label} seed ${seed}: pass@1 ${(100 * out.series.points.at(-1)!.accuracy).toFixed(1)}%, ${(out.detail.wallMs / 1000).toFixed(1)} s`,
    );
  }
  return {
    runs,
    details,
    order: order.map(({ seed, method }) => ({ seed, method: method.label })),
    resumed,
    initial,
    strata,
    labelNoise,
    complete,
  };
}

interface RunContext {
  options: ComparisonOptions;
  pairs: readonly PreferencePair[];
  strata: number[];
  evalSet: Set<number>;
  refCacheDir: string;
  factory: (name: SelectorName, config: CurriculumConfigInput) => TrainingSelector;
  flippedIndex: Set<number>;
  log: (line: string) => void;
}

/**
 * One run of `steps` steps. With `start` null it is a warm-up: no evaluation, nothing returned
 * worth keeping. Returns null when a stop request interrupted it.
 */
async function trainOne(
  c: RunContext,
  method: NormalisedMethod,
  seed: number,
  policy: ComparisonPolicy,
  dir: string,
  steps: number,
  timer: StepTimer,
  start: ExperimentPoint | null,
): Promise<{ series: ExperimentSeries; detail: ComparisonRunDetail } | null> {
  const points: ExperimentPoint[] = start ? [{ ...start }] : [];
  const batches: number[][] = [];
  let frontier: number | undefined;
  let snrSum = 0;
  let snrN = 0;
  let snrAllSum = 0;
  let snrAllN = 0;
  let last: Record<string, number> = {};
  const afterStep = async (record: Readonly<Record<string, unknown>>, step: number): Promise<void> => {
    timer.end();
    const f = record["sage/frontier"];
    if (typeof f === "number") frontier = f;
    const snr = record.grad_snr;
    if (typeof snr === "number" && Number.isFinite(snr)) {
      snrSum += snr;
      snrN++;
      snrAllSum += snr;
      snrAllN++;
    }
    last = {};
    for (const [k, v] of Object.entries(record)) if (typeof v === "number" && Number.isFinite(v)) last[k] = v;
    if (!start || !c.evalSet.has(step)) return;
    const r = await c.options.evaluate(policy, c.options.problems, { seed, step, method: method.label });
    const point: ExperimentPoint = {
      ...evalRecordToPoint(r, c.strata),
      step,
      wallMs: timer.wallMs,
      scoringMs: timer.scoringMs,
    };
    if (frontier !== undefined) point.frontier = frontier;
    if (snrN > 0) point.snr = snrSum / snrN;
    snrSum = 0;
    snrN = 0;
    points.push(point);
  };

  let nonFiniteSteps: number;
  if (method.selector === SFT_CHOSEN) {
    const r = await sftChosen(c, method, seed, policy, steps, timer, batches, afterStep);
    if (r === null) return null;
    nonFiniteSteps = r;
    // the final policy, as runDpo keeps it (`checkpoints/step-<steps>/policy`), outside the timed steps
    if (start)
      await new CheckpointManager(join(dir, "checkpoints"), { keepLast: 1 }).save(steps, [
        policyStateProvider(policy),
      ]);
  } else {
    const selector = timedSelector(c.factory(method.selector, method.curriculum), timer, batches);
    const result = await runDpo({
      config: {
        ...method.train,
        steps,
        seed,
        batchSize: c.options.batchSize,
        evalEvery: 0,
        checkpointEvery: steps,
      },
      policy: timedPolicy(policy, timer),
      selector,
      pairs: c.pairs,
      runDir: dir,
      refCacheDir: c.refCacheDir,
      log: c.log,
      ...(c.options.stop ? { stop: c.options.stop } : {}),
      onStep: (record: MetricsRecord) =>
        record.event === "train" ? afterStep(record, record.step as number) : undefined,
    });
    if (result.status === "interrupted") return null;
    if (result.status !== "completed") {
      throw new TrainerError(
        "POLICY_INVALID",
        `run ${method.label} seed ${seed} ended ${result.status} at step ${result.step} of ${steps} (${result.nonFiniteSteps} non-finite steps); see ${result.metricsPath}`,
      );
    }
    nonFiniteSteps = result.nonFiniteSteps;
  }
  let flippedSelections = 0;
  for (const b of batches) for (const i of b) if (c.flippedIndex.has(i)) flippedSelections++;
  return {
    series: { method: method.label, seed, points },
    detail: {
      method: method.label,
      seed,
      kind: method.selector === SFT_CHOSEN ? "sft-chosen" : "dpo",
      runDir: dir,
      steps,
      wallMs: timer.wallMs,
      scoringMs: timer.scoringMs,
      meanSnr: snrAllN > 0 ? snrAllSum / snrAllN : null,
      nonFiniteSteps,
      batches,
      distinctPairs: new Set(batches.flat()).size,
      flippedSelections,
      last,
    },
  };
}

/**
 * The SFT-on-chosen control: the batches the `uniform` selector draws with this seed (initialised
 * exactly as `runDpo` initialises it: trainer RNG seeded with `seed`, reference log-probs from the
 * data or the shared cache), trained with token-mean NLL on their chosen responses, same optimiser
 * settings and learning-rate schedule. Returns the number of non-finite (skipped) steps, or null
 * when stopped.
 */
async function sftChosen(
  c: RunContext,
  method: NormalisedMethod,
  seed: number,
  policy: ComparisonPolicy,
  steps: number,
  timer: StepTimer,
  batches: number[][],
  afterStep: (record: Readonly<Record<string, unknown>>, step: number) => Promise<void>,
): Promise<number | null> {
  const accumulate = policy.accumulateSequenceGradient?.bind(policy);
  if (!accumulate) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `method ${method.label} (sft-chosen) needs a policy with accumulateSequenceGradient; the start policy has none`,
    );
  }
  const config = parseDpoTrainConfig({
    ...method.train,
    steps,
    seed,
    batchSize: c.options.batchSize,
    checkpointEvery: steps,
  });
  const pairs = c.pairs;
  let ref: {
    chosen: Float64Array;
    rejected: Float64Array;
    chosenTokens?: Uint32Array;
    rejectedTokens?: Uint32Array;
  };
  if (pairs.every((p) => p.refChosenLogps !== undefined && p.refRejectedLogps !== undefined)) {
    ref = {
      chosen: Float64Array.from(pairs, (p) => p.refChosenLogps!),
      rejected: Float64Array.from(pairs, (p) => p.refRejectedLogps!),
    };
  } else {
    const cache = new RefLogProbCache(c.refCacheDir);
    const got = await cache.getOrCompute(
      await policy.fingerprint(),
      preferenceDataHash(pairs),
      pairs.map((p) => p.id),
      async () => {
        const n = pairs.length;
        const out = {
          chosen: new Float64Array(n),
          rejected: new Float64Array(n),
          chosenTokens: new Uint32Array(n),
          rejectedTokens: new Uint32Array(n),
        };
        for (let s = 0; s < n; s += config.scoringBatchSize) {
          const r = await policy.sequenceLogProbs(pairs.slice(s, s + config.scoringBatchSize));
          out.chosen.set(r.chosen, s);
          out.rejected.set(r.rejected, s);
          out.chosenTokens.set(r.chosenTokens, s);
          out.rejectedTokens.set(r.rejectedTokens, s);
        }
        return out;
      },
    );
    ref = got.ref;
  }
  const rng = new Rng(seed);
  const selector = c.factory("uniform", method.curriculum);
  // initialised exactly as runDpo's stages do, so the control trains on uniform's batches
  startSelector(selector, pairs, ref, { ...config, steps }, rng);
  const schedule = loopSchedule(config);
  let nonFinite = 0;
  for (let step = 0; step < steps; step++) {
    if (c.options.stop?.requested) return null;
    timer.begin();
    if (selector.nextScoringRequest(step)) {
      throw new TrainerError(
        "SELECTION_INVALID",
        `the sft-chosen control draws its batches with the uniform selector, which asked for a scoring pass at step ${step}; expected none`,
      );
    }
    const indices = [...selector.selectBatch(step, config.batchSize)];
    batches.push(indices);
    const examples: SftExample[] = indices.map((i) => {
      const p = pairs[i]!;
      return { id: p.id, prompt: p.prompt, completion: p.chosen };
    });
    let totalTokens = 0;
    const out = await accumulate(examples, (_logps, tokens) => {
      totalTokens = tokens.reduce((a, b) => a + b, 0);
      return new Float64Array(examples.length).fill(-1 / Math.max(1, totalTokens));
    });
    let nll = 0;
    for (const v of out.logps) nll -= v;
    const loss = nll / Math.max(1, totalTokens);
    const learningRate = learningRateAt(step, schedule);
    let gradNorm = Number.NaN;
    let finite = Number.isFinite(loss);
    if (finite) {
      const r = await policy.applyGradients({ learningRate, maxGradNorm: config.maxGradNorm ?? undefined });
      gradNorm = r.gradNorm;
      finite = r.applied && Number.isFinite(r.gradNorm);
    } else await policy.discardGradients();
    if (!finite && ++nonFinite >= config.maxNonFinite) {
      throw new TrainerError(
        "POLICY_INVALID",
        `run ${method.label} seed ${seed}: ${nonFinite} non-finite SFT steps (maxNonFinite ${config.maxNonFinite}) by step ${step + 1}`,
      );
    }
    await afterStep(
      { step: step + 1, loss, grad_norm: gradNorm, learning_rate: learningRate, num_tokens: totalTokens },
      step + 1,
    );
  }
  return nonFinite;
}

/** Options of {@link webGpuComparisonPolicies}. */
export interface WebGpuComparisonOptions {
  /** The start policy (weights, config, tokenizer): every copy starts from these weights. */
  readonly model: LoadedModel;
  readonly ctx: GpuContext;
  /**
   * pass@1 estimate (default greedy): the mean correctness of `samples` draws per problem at
   * `temperature`, sampled with seed `seed` when given, else with the comparison seed, so all
   * methods of a seed are scored on the same draws.
   */
  readonly evalSampling?: { readonly samples: number; readonly temperature: number; readonly seed?: number };
  /** Tokens per evaluation answer (default 64). */
  readonly maxNewTokens?: number;
  /** Problems per generate call (default 32). */
  readonly evalBatchSize?: number;
  /** Grader (default `@sage/eval-math`'s `gradeResponse`). */
  readonly grade?: Grader;
  readonly optimizer?: { beta1?: number; beta2?: number; eps?: number; weightDecay?: number };
}

/**
 * `startPolicy` and `evaluate` of {@link runComparison} on WebGPU: each request gets a fresh
 * trainable `@sage/model` `Policy` of `model`'s weights wrapped in a `WebGpuPolicy` (destroyed after
 * the run); evaluation is `evaluatePassAt1` with `webGpuSampler` on that policy.
 */
export function webGpuComparisonPolicies(
  options: WebGpuComparisonOptions,
): Pick<ComparisonOptions, "startPolicy" | "evaluate"> {
  const { model, ctx } = options;
  const tokenizer = model.tokenizer;
  if (!tokenizer) throw new TrainerError("CONFIG_INVALID", "the start model has no tokenizer");
  const sampling = options.evalSampling;
  checkEvalSampling(sampling);
  return {
    startPolicy: () => {
      const policy = Policy.create(ctx, model.config, model.weights);
      const gpu = new WebGpuPolicy({ policy, tokenizer, ...(options.optimizer ?? {}) });
      return {
        policy: gpu,
        destroy: () => {
          gpu.destroy();
          policy.destroy();
        },
      };
    },
    evaluate: (policy, problems, at) => {
      if (!(policy instanceof WebGpuPolicy)) {
        throw new TrainerError(
          "CONFIG_INVALID",
          "webGpuComparisonPolicies evaluates WebGpuPolicy copies only",
        );
      }
      return evaluatePassAt1(
        problems,
        webGpuSampler(policy.policy, tokenizer, {
          maxNewTokens: options.maxNewTokens ?? 64,
          temperature: sampling?.temperature ?? 0,
          seed: sampling?.seed ?? at.seed,
        }),
        {
          batchSize: options.evalBatchSize ?? 32,
          samples: sampling?.samples ?? 1,
          ...(options.grade ? { grade: options.grade } : {}),
        },
      );
    },
  };
}

/** `evalSampling` of `webGpuComparisonPolicies`: k samples at a temperature. */
export function checkEvalSampling(
  sampling: { readonly samples: number; readonly temperature: number } | undefined,
): void {
  if (
    sampling &&
    (!Number.isInteger(sampling.samples) ||
      sampling.samples < 1 ||
      !(sampling.temperature >= 0) ||
      !Number.isFinite(sampling.temperature))
  ) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `evalSampling must be { samples: integer ≥ 1, temperature: finite ≥ 0 }; received ${describeValue(sampling)}`,
    );
  }
}
