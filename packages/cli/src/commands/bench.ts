import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { SELECTOR_NAMES, type SelectorName } from "@sage/curriculum";
import { createContext, formatAdapter } from "@sage/kernels-webgpu";
import { parameterCount } from "@sage/model";
import { type ReportSummary, type RunSeries, summarizeRuns, writeReport } from "@sage/report";
import {
  atomicWriteJson,
  type ExperimentMethod,
  type ExperimentRunDetail,
  type ExperimentVariant,
  parseDpoTrainConfig,
  writePreferencePairs,
} from "@sage/trainer";
import { CliError } from "../errors.js";
import {
  buildDemoPairs,
  DEMO_PLAN,
  type DemoPlan,
  evalDescription,
  machineDescription,
  prepareStartPolicy,
  runComparison,
  targetFromBaseline,
} from "./demo.js";

/** The benchmark suites `sage bench` knows. */
export const BENCH_SUITES = ["convergence"] as const;

/** The methods of `sage bench convergence`, baselines first, SAGE last. */
export const CONVERGENCE_METHODS: readonly SelectorName[] = [
  "uniform",
  "random",
  "hard-mining",
  "small-margin",
  "selective",
  "curriculum-only",
  "score-only",
  "sage",
];

/**
 * `--ablations`: the spec's SAGE ablations and R sweep ("What to measure"), each a labelled variant
 * of `sage` on top of the plan's curriculum (whose R = `refreshEvery` is 10), plus `uniform` (the
 * baseline), `sage` itself and `score-only` (no curriculum). Field names are those of
 * `@sage/curriculum` / `@sage/stability`.
 */
export const ABLATION_VARIANTS: readonly ExperimentVariant[] = [
  { label: "uniform", selector: "uniform" },
  { label: "sage", selector: "sage" },
  { label: "score-only", selector: "score-only" },
  { label: "sage:K1-a0", selector: "sage", curriculum: { stability: { k: 1, alpha: 0 } } },
  { label: "sage:zmin0.25", selector: "sage", curriculum: { stability: { zMin: 0.25 } } },
  { label: "sage:zmin0.5", selector: "sage", curriculum: { stability: { zMin: 0.5 } } },
  {
    label: "sage:no-cap",
    selector: "sage",
    curriculum: { stability: { mCap: Number.POSITIVE_INFINITY } },
  },
  { label: "sage:implicit", selector: "sage", curriculum: { stability: { errorMargin: "implicit" } } },
  { label: "sage:R2", selector: "sage", curriculum: { refreshEvery: 2 } },
  { label: "sage:R20", selector: "sage", curriculum: { refreshEvery: 20 } },
  // spec v1's choices, kept as ablations of the v2 defaults
  { label: "sage:raw", selector: "sage", curriculum: { stability: { scale: "raw" } } },
  { label: "sage:probe", selector: "sage", curriculum: { competence: "probe" } },
  // v1 probes are held out of training: smaller probes, fewer strata
  { label: "sage:probe4", selector: "sage", curriculum: { competence: "probe", probeSize: 4 } },
  {
    label: "sage:probe4-strata2",
    selector: "sage",
    curriculum: { competence: "probe", probeSize: 4, nStrata: 2 },
  },
];

/**
 * The benchmark's default plan: the demo's task, pool and hyper-parameters, the same step budget
 * for every method (sized so 8 methods × 3 seeds fit in about half an hour on a 2-core lavapipe
 * machine).
 */
export const CONVERGENCE_PLAN: DemoPlan = {
  ...DEMO_PLAN,
  evalProblemsPerLevel: 24,
  steps: 30,
  evalEvery: 5,
};

/** `--quick`: the smallest run that exercises every method (a few minutes on lavapipe). */
export const CONVERGENCE_QUICK_PLAN: DemoPlan = {
  ...CONVERGENCE_PLAN,
  pairProblemsPerLevel: 24,
  evalProblemsPerLevel: 8,
  steps: 6,
  evalEvery: 3,
  curriculum: { refreshEvery: 3, probeSize: 8, nStrata: 3 },
};

export interface BenchCommandOptions {
  readonly quick?: boolean;
  readonly methods?: string;
  readonly seeds?: string;
  readonly tuningSeeds?: string;
  readonly steps?: number;
  readonly evalEvery?: number;
  readonly problems?: number;
  readonly evalProblems?: number;
  readonly samples?: number;
  readonly target?: number;
  readonly learningRate?: number;
  readonly rpoAlpha?: number;
  readonly model?: string;
  readonly out?: string;
  readonly runDir?: string;
  readonly progress?: boolean;
  /** Run `ABLATION_VARIANTS` on the tuning seeds only (not with `--methods` / `--seeds`). */
  readonly ablations?: boolean;
}

/** What `sage bench convergence` will run, parsed and checked (no GPU work). */
export interface ConvergenceSettings {
  /** Plain selectors, or (`--ablations`) `ABLATION_VARIANTS`. */
  readonly methods: ExperimentMethod[];
  readonly seeds: number[];
  readonly tuningSeeds: number[];
  readonly plan: DemoPlan;
  readonly target: number | undefined;
  readonly model: string | undefined;
  readonly out: string | undefined;
  readonly runDir: string | undefined;
  readonly quick: boolean;
  /** `--ablations`: the runs use `tuningSeeds`, never `seeds`. */
  readonly ablations: boolean;
}

/** The label of a method entry (a selector name or a variant's label). */
export function methodLabel(m: ExperimentMethod): string {
  return typeof m === "string" ? m : m.label;
}

function parseIntList(flag: string, text: string, min: number): number[] {
  const parts = text.split(",").map((s) => s.trim());
  const out: number[] = [];
  for (const p of parts) {
    const n = Number(p);
    if (!/^-?\d+$/.test(p) || !Number.isSafeInteger(n) || n < min) {
      throw new CliError(
        "USAGE",
        `${flag} must be a comma-separated list of integers ≥ ${min}; received ${JSON.stringify(text.slice(0, 80))}`,
      );
    }
    out.push(n);
  }
  if (new Set(out).size !== out.length) {
    throw new CliError(
      "USAGE",
      `${flag} must not repeat a value; received ${JSON.stringify(text.slice(0, 80))}`,
    );
  }
  return out;
}

/** Parse and check the options of `sage bench convergence`. */
export function convergenceSettings(o: BenchCommandOptions): ConvergenceSettings {
  const base = o.quick ? CONVERGENCE_QUICK_PLAN : CONVERGENCE_PLAN;
  const ablations = o.ablations ?? false;
  if (ablations && (o.methods !== undefined || o.seeds !== undefined)) {
    throw new CliError(
      "USAGE",
      "--ablations runs its own variants on the tuning seeds; it takes neither --methods nor --seeds (use --tuning-seeds)",
    );
  }
  let methods: ExperimentMethod[] = ablations ? [...ABLATION_VARIANTS] : [...CONVERGENCE_METHODS];
  if (o.methods !== undefined) {
    const names = o.methods.split(",").map((s) => s.trim());
    for (const n of names) {
      if (!(SELECTOR_NAMES as readonly string[]).includes(n)) {
        throw new CliError(
          "USAGE",
          `--methods: unknown method ${JSON.stringify(n.slice(0, 40))}; expected some of ${SELECTOR_NAMES.join(", ")}`,
        );
      }
    }
    if (new Set(names).size !== names.length)
      throw new CliError("USAGE", "--methods must not repeat a method");
    methods = names as SelectorName[];
  }
  const labels = methods.map(methodLabel);
  if (!labels.includes("uniform") || !labels.includes("sage")) {
    throw new CliError("USAGE", "--methods must include uniform (the baseline) and sage (the subject)");
  }
  const seeds = o.seeds !== undefined ? parseIntList("--seeds", o.seeds, 0) : o.quick ? [1] : [1, 2, 3];
  const tuningSeeds = o.tuningSeeds !== undefined ? parseIntList("--tuning-seeds", o.tuningSeeds, 0) : [100];
  const clash = seeds.filter((s) => tuningSeeds.includes(s));
  if (clash.length > 0) {
    throw new CliError(
      "USAGE",
      `reported seeds and tuning seeds must be apart; both have ${clash.join(", ")} (--seeds / --tuning-seeds)`,
    );
  }
  if (!o.quick && !ablations && seeds.length < 3) {
    throw new CliError(
      "USAGE",
      `a full run needs at least 3 seeds; received ${seeds.length} (--seeds; or --quick)`,
    );
  }
  const steps = o.steps ?? base.steps;
  const evalEvery = o.evalEvery ?? Math.min(base.evalEvery, steps);
  if (evalEvery > steps)
    throw new CliError("USAGE", `--eval-every (${evalEvery}) must be at most --steps (${steps})`);
  if (o.target !== undefined && !(o.target > 0 && o.target <= 1)) {
    throw new CliError("USAGE", `--target must be in (0, 1]; received ${o.target}`);
  }
  return {
    methods,
    seeds,
    tuningSeeds,
    plan: {
      ...base,
      steps,
      evalEvery,
      pairProblemsPerLevel: o.problems ?? base.pairProblemsPerLevel,
      evalProblemsPerLevel: o.evalProblems ?? base.evalProblemsPerLevel,
      samples: o.samples ?? base.samples,
      train: {
        ...base.train,
        ...(o.learningRate !== undefined ? { learningRate: o.learningRate } : {}),
        ...(o.rpoAlpha !== undefined ? { rpoAlpha: o.rpoAlpha } : {}),
      },
    },
    target: o.target,
    model: o.model,
    out: o.out,
    runDir: o.runDir,
    quick: o.quick ?? false,
    ablations,
  };
}

/**
 * `benchmarks/results` (quick: `benchmarks/out`) of the SAGE repository the command runs in (found by
 * walking up from the working directory to the folder holding `turbo.json` and `benchmarks/`);
 * outside one, `./sage-bench-results`.
 */
export function defaultResultsDir(quick: boolean, from = process.cwd()): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, "turbo.json")) && existsSync(join(dir, "benchmarks"))) {
      return join(dir, "benchmarks", quick ? "out" : "results");
    }
    const up = dirname(dir);
    if (up === dir) return resolve(from, "sage-bench-results");
    dir = up;
  }
}

/** `mesa / software / llvmpipe: Mesa 25…` → `mesa-software-llvmpipe` (as the other benchmarks name files). */
export function adapterSlug(adapter: string): string {
  const words: string[] = [];
  for (const w of adapter.toLowerCase().split(/[^a-z0-9]+/)) if (w && !words.includes(w)) words.push(w);
  return words.slice(0, 3).join("-") || "unknown";
}

/** The three targets (null: not measurable, e.g. a method did not reach the target accuracy on every seed). */
export interface ConvergenceTargets {
  readonly stepsRatioAtMost0_6: boolean | null;
  readonly wallRatioAtMost0_8: boolean | null;
  readonly hardestAtLeastUniform: boolean | null;
}

export interface BenchResult {
  readonly json: string;
  readonly html: string;
  readonly reportDir: string;
  readonly summary: ReportSummary;
  readonly verdict: string;
  readonly targetsMet: ConvergenceTargets;
  readonly seconds: number;
}

/** The targets, from the summary: steps ratio ≤ 0.6, wall-clock ratio ≤ 0.8, hardest ≥ uniform's. */
export function convergenceTargets(summary: ReportSummary): ConvergenceTargets {
  const sage = summary.methods.find((m) => m.method === "sage");
  const uniform = summary.methods.find((m) => m.method === "uniform");
  return {
    stepsRatioAtMost0_6: sage?.stepsRatio ? sage.stepsRatio.value <= 0.6 : null,
    wallRatioAtMost0_8: sage?.wallRatio ? sage.wallRatio.value <= 0.8 : null,
    hardestAtLeastUniform:
      sage?.finalHardest && uniform?.finalHardest
        ? sage.finalHardest.mean >= uniform.finalHardest.mean
        : null,
  };
}

/**
 * `sage bench convergence`: every selector × seeds from one start policy (the shipped SFT checkpoint
 * unless `--model`) and one on-policy pair pool, with the same step budget; writes
 * `convergence-<adapter>.json` (settings, environment, every run's points, summary, verdict,
 * targets) and the report (`report.html`, its PNGs and `report.json`) in `convergence-<adapter>/`.
 */
export async function benchCommand(
  suite: string,
  o: BenchCommandOptions,
  log: (line: string) => void,
): Promise<BenchResult> {
  if (!(BENCH_SUITES as readonly string[]).includes(suite)) {
    throw new CliError(
      "USAGE",
      `unknown benchmark suite ${JSON.stringify(suite.slice(0, 40))}; expected one of ${BENCH_SUITES.join(", ")}`,
    );
  }
  const s = convergenceSettings(o);
  const t0 = performance.now();
  const started = new Date();
  const loadAtStart = loadavg().map((x) => Math.round(x * 100) / 100);
  const progress = o.progress ?? true;
  const ctx = await createContext({ label: "sage-bench" });
  const adapter = ctx.report ? formatAdapter(ctx.report) : "unknown adapter";
  log(`adapter: ${adapter}`);
  const slug = adapterSlug(adapter);
  const resultsDir = s.out ? resolve(s.out) : defaultResultsDir(s.quick);
  const base = `convergence-${s.ablations ? "ablations-" : ""}${slug}${s.quick ? "-quick" : ""}`;
  // reported seeds stay apart: an ablation run trains on the tuning seeds only
  const runSeeds = s.ablations ? s.tuningSeeds : s.seeds;
  const runDir = resolve(s.runDir ?? join("runs", `bench-${base}`));
  try {
    const { model, source } = await prepareStartPolicy(
      { ...(s.model !== undefined ? { model: s.model } : {}), outDir: runDir, ctx, progress },
      log,
    );
    const tp = performance.now();
    const built = await buildDemoPairs(model, s.plan, { ctx, seed: 0, progress });
    const pairSeconds = (performance.now() - tp) / 1000;
    await writePreferencePairs(join(runDir, "pairs.jsonl"), built.pairs);
    log(
      `pool: ${built.pairs.length} pairs from ${built.stats.withPairs} of ${built.stats.problems} problems (mean pass rate ${(100 * built.stats.meanPassRate).toFixed(1)}%, ${pairSeconds.toFixed(0)} s)`,
    );
    if (built.pairs.length < (s.plan.train.batchSize ?? 8)) {
      throw new CliError("INPUT_INVALID", `only ${built.pairs.length} on-policy pairs; more problems needed`);
    }
    log(
      `runs: ${s.methods.length} ${s.ablations ? "variants" : "methods"} × ${s.ablations ? "tuning " : ""}seeds ${runSeeds.join(", ")}, ${s.plan.steps} steps each`,
    );
    const result = await runComparison(model, built.pairs, s.plan, {
      methods: s.methods,
      seeds: runSeeds,
      runDir,
      ctx,
      progress,
      log,
    });
    const runs: RunSeries[] = result.runs;
    const target = s.target ?? targetFromBaseline(runs);
    const summary = summarizeRuns(runs, { target, baseline: "uniform", subject: "sage" });
    const targets = convergenceTargets(summary);
    const seconds = (performance.now() - t0) / 1000;
    const config = {
      suite,
      startPolicy: source,
      parameters: parameterCount(model.config),
      methods: s.methods.map(methodLabel),
      ...(s.ablations
        ? {
            ablations: s.methods.map((m) =>
              typeof m === "string" ? { label: m, selector: m } : variantJson(m),
            ),
            seeds: [],
          }
        : { seeds: s.seeds }),
      tuningSeeds: s.tuningSeeds,
      plan: s.plan,
      pool: { pairs: built.pairs.length, ...built.stats, seconds: pairSeconds },
      strata: result.strata.map((l) => `level ${l}`),
      target,
      targetRule: s.target !== undefined ? "--target" : "start + 90% of uniform's mean gain",
    };
    // the DPO settings every run used, defaults resolved by the trainer's own schema
    const dpo = parseDpoTrainConfig({ ...s.plan.train, steps: s.plan.steps }, "plan.train");
    const notes =
      (s.ablations
        ? `Ablations of SAGE on the tuning seed(s) ${s.tuningSeeds.join(", ")} only (reported seeds not used); plan R = refreshEvery ${s.plan.curriculum.refreshEvery ?? "default"}. `
        : "") +
      `Targets of the issue: SAGE reaches the target in ≤ 0.6× uniform's steps (${fmtTarget(targets.stepsRatioAtMost0_6)}), ` +
      `≤ 0.8× its wall-clock with scoring (${fmtTarget(targets.wallRatioAtMost0_8)}), and ends with hardest-stratum pass@1 ≥ uniform's (${fmtTarget(targets.hardestAtLeastUniform)}). ` +
      `Start policy: ${source}. Accuracy: ${evalDescription(s.plan)}, ${s.plan.evalProblemsPerLevel} held-out problems per level. ` +
      `DPO: β ${dpo.beta}, learning rate ${dpo.learningRate}, rpoAlpha ${dpo.rpoAlpha}; pairs graded with their work (syntheticPairGrade). ` +
      `Wall-clock is training time with scoring passes, evaluation excluded. Total benchmark time ${(seconds / 60).toFixed(1)} min.`;
    const reportDir = join(resultsDir, base);
    const written = await writeReport(
      {
        title: s.ablations
          ? `Convergence ablations: ${s.methods.length} variants (tuning seed${runSeeds.length > 1 ? "s" : ""} ${runSeeds.join(", ")})`
          : `Convergence: SAGE vs ${s.methods.length - 1} baselines (${s.seeds.length} seeds)`,
        adapter,
        machine: machineDescription(),
        config,
        runs,
        target,
        summary,
        notes,
      },
      reportDir,
      { onWarning: (w) => log(`report: ${w}`) },
    );
    await mkdir(resultsDir, { recursive: true });
    const html = written.html;
    const json = join(resultsDir, `${base}.json`);
    await atomicWriteJson(json, {
      suite,
      date: started.toISOString(),
      adapter,
      machine: machineDescription(),
      // other processes on the machine skew the wall-clock numbers: the load is recorded
      environment: {
        cpus: cpus().length,
        loadAverageAtStart: loadAtStart,
        loadAverageAtEnd: loadavg().map((x) => Math.round(x * 100) / 100),
      },
      config,
      targets,
      verdict: written.verdict,
      summary,
      runs,
      details: result.details.map(detailJson),
      timing: { totalSeconds: seconds, pairSeconds, initialEvalSeconds: result.initialEvalSeconds },
    });
    return { json, html, reportDir, summary, verdict: written.verdict, targetsMet: targets, seconds };
  } finally {
    ctx.destroy();
  }
}

/** A variant for the JSON record (`mCap: Infinity` written as the string "Infinity"). */
function variantJson(v: ExperimentVariant) {
  return JSON.parse(
    JSON.stringify(v, (_k, x) => (x === Number.POSITIVE_INFINITY ? "Infinity" : x)),
  ) as Record<string, unknown>;
}

function fmtTarget(v: boolean | null): string {
  return v === null
    ? "not measurable: a method did not reach the target on every seed"
    : v
      ? "met"
      : "not met";
}

function detailJson(d: ExperimentRunDetail) {
  return {
    method: d.method,
    seed: d.seed,
    steps: d.steps,
    trainSeconds: d.trainSeconds,
    scoringSeconds: d.scoringSeconds,
    evalSeconds: d.evalSeconds,
    meanGradSnr: d.meanSnr,
    last: d.last,
  };
}
