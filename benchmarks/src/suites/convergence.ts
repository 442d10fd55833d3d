/**
 * `npm run bench -- convergence [--task chains|synthetic] [--quick] [--methods LIST] [--seeds LIST] …`
 *
 * The paper's claim under our control, on the library only (no CLI): the start policy shipped for
 * the task (`@sage/cli`'s `assets/sft-chains` or `assets/sft-tiny`, or `--model`), one on-policy
 * candidate set (`buildPlanPairs` of `@sage/trainer`'s presets, work-checked grading), then
 * `runComparison` (paired, interleaved, warm-up excluded from wall-clock): first `uniform` on the
 * TUNING seeds to fix the absolute target (`tuningTarget` of `@sage/report`: start + 90% of its
 * gain), then every method on the REPORTED seeds, then the label-noise arm (the same candidates with
 * a seeded 20% of chosen ↔ rejected swapped), summarised by `convergenceEndpoints` (AUC differences
 * with Holm, steps and wall-clock ratios with bootstrap intervals, MDE) and written as
 * `convergence-<task>-<adapter>.json` plus the HTML report in `convergence-<task>-<adapter>/`.
 *
 * The full run checks the design's pre-registered minimums (docs/benchmarks.md, "Convergence v2")
 * before it samples anything, and the candidate count once the pairs are built; `--quick` is a
 * smoke run of the same code on a small pool and is not held to them.
 */
import * as path from "node:path";
import { type CurriculumConfigInput, SELECTOR_NAMES } from "@sage/curriculum";
import { createContext, formatAdapter } from "@sage/kernels-webgpu";
import { loadModelDir } from "@sage/model";
import { convergenceEndpoints, tuningTarget, writeReport } from "@sage/report";
import {
  buildPlanPairs,
  CHAINS_GATE_PLAN,
  CHAINS_QUICK_PLAN,
  type ComparisonMethod,
  type ComparisonOptions,
  type ComparisonRunDetail,
  DEMO_PLANS,
  type ExperimentPlan,
  evalDescription,
  planEvalProblems,
  runComparison,
  SFT_CHOSEN,
  TASK_NAMES,
  TASKS,
  type TaskName,
  webGpuComparisonPolicies,
  writePreferencePairs,
} from "@sage/trainer";
import { BENCH_DIR, OUT_DIR, RESULTS_DIR, slug, userPath, writeJsonAtomic } from "../lib/results.js";
import { positiveInt, type Suite, UsageError } from "../lib/suite.js";

/** `score-only` with the stability term switched off (k = 1, α = 0): the stability ablation. */
export const SCORE_ONLY_NO_STABILITY = "score-only-nostab";

/** Method names the suite knows: the selectors, the SFT-on-chosen control and the stability ablation. */
export const METHOD_NAMES: readonly string[] = [...SELECTOR_NAMES, SFT_CHOSEN, SCORE_ONLY_NO_STABILITY];

/** The runner's method for a name (`score-only-nostab` is a labelled spec). */
export function methodOf(name: string): ComparisonMethod {
  if (name === SCORE_ONLY_NO_STABILITY) {
    const curriculum: CurriculumConfigInput = { stability: { k: 1, alpha: 0 } };
    return { label: SCORE_ONLY_NO_STABILITY, selector: "score-only", curriculum };
  }
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
): { total: number; pool: number; tuning: number; reported: number; noise: number } {
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

const USAGE = `usage: npm run bench -- convergence [options]

  --task NAME           chains (default: chain lengths 1-5, start policy sft-chains) or synthetic
  --quick               smoke run: small pool, 16 steps, seeds 1,2, methods ${QUICK_METHODS.join(",")},
                        noise arm ${QUICK_NOISE_METHODS.join(",")}; not held to the design minimums;
                        results in benchmarks/out/
  --methods LIST        methods, comma-separated (default: all of ${FULL_METHODS.join(",")};
                        must include uniform and sage); also ${SFT_CHOSEN} and ${SCORE_ONLY_NO_STABILITY}
  --noise-methods LIST  the label-noise arm's methods (default ${NOISE_METHODS.join(",")}; 'none': no arm)
  --seeds LIST          reported seeds (default 1,2,3,4,5; --quick 1,2)
  --tuning-seeds LIST   seeds that fix the target, never reported (default 100)
  --steps N             DPO steps per run (default: the plan's, 150; --quick 16)
  --model DIR           start policy (default: @sage/cli's shipped checkpoint of the task)
  --out DIR             results folder (default benchmarks/results, --quick benchmarks/out)`;

function intList(flag: string, text: string): number[] {
  const xs = text.split(",").map((s) => positiveInt(s.trim(), flag, 1_000_000));
  if (new Set(xs).size !== xs.length)
    throw new UsageError(`${flag}: a seed is repeated in '${text.slice(0, 40)}'`);
  return xs;
}

function methodList(flag: string, text: string): string[] {
  const names = text.split(",").map((s) => s.trim());
  const bad = names.find((n) => !METHOD_NAMES.includes(n));
  if (bad !== undefined)
    throw new UsageError(
      `${flag}: unknown '${bad.slice(0, 40)}'; expected some of ${METHOD_NAMES.join(", ")}`,
    );
  if (new Set(names).size !== names.length) throw new UsageError(`${flag}: a method is repeated`);
  return names;
}

/** A run's details for the JSON: no batch lists, the run folder relative to benchmarks/ (no machine paths). */
const portable = ({ batches: _b, runDir, ...d }: ComparisonRunDetail) => ({
  ...d,
  runDir: path.relative(BENCH_DIR, runDir).split(path.sep).join("/"),
});

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export const suite: Suite = {
  name: "convergence",
  description:
    "SAGE vs baselines (library runner): tuning-fixed target, paired endpoints over reported seeds, label-noise arm",
  usage: USAGE,
  async run(args) {
    let task: TaskName = "chains";
    let quick = false;
    let methods: string[] | undefined;
    let noiseMethods: string[] | undefined;
    let seeds: number[] | undefined;
    let tuningSeeds = [100];
    let steps: number | undefined;
    let modelDir: string | undefined;
    let out: string | undefined;
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === "--quick") {
        quick = true;
        continue;
      }
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${a}: expected a value`);
      if (a === "--task") {
        if (!(TASK_NAMES as readonly string[]).includes(v))
          throw new UsageError(
            `--task: expected one of ${TASK_NAMES.join(", ")}, received '${v.slice(0, 40)}'`,
          );
        task = v as TaskName;
      } else if (a === "--methods") methods = methodList("--methods", v);
      else if (a === "--noise-methods") noiseMethods = v === "none" ? [] : methodList("--noise-methods", v);
      else if (a === "--seeds") seeds = intList("--seeds", v);
      else if (a === "--tuning-seeds") tuningSeeds = intList("--tuning-seeds", v);
      else if (a === "--steps") steps = positiveInt(v, "--steps", 100_000);
      else if (a === "--model") modelDir = userPath(v);
      else if (a === "--out") out = userPath(v);
      else throw new UsageError(`unknown option '${a.slice(0, 40)}'`);
    }
    methods ??= [...(quick ? QUICK_METHODS : FULL_METHODS)];
    noiseMethods ??= [...(quick ? QUICK_NOISE_METHODS : NOISE_METHODS)];
    seeds ??= quick ? [1, 2] : [1, 2, 3, 4, 5];
    if (!methods.includes("uniform") || !methods.includes("sage"))
      throw new UsageError("--methods must include uniform (the baseline) and sage (the subject)");
    if (noiseMethods.length > 0 && !noiseMethods.includes("uniform"))
      throw new UsageError("--noise-methods must include uniform (the baseline), or be 'none'");
    if (seeds.length < 2)
      throw new UsageError("--seeds: the paired endpoints need at least 2 reported seeds");
    const clash = seeds.filter((s) => tuningSeeds.includes(s));
    if (clash.length > 0) throw new UsageError(`--seeds and --tuning-seeds share ${clash.join(", ")}`);
    const base =
      task === "chains"
        ? quick
          ? CHAINS_BENCH_QUICK_PLAN
          : CHAINS_BENCH_PLAN
        : DEMO_PLANS[task][quick ? 1 : 0];
    const plan: ExperimentPlan = {
      ...base,
      steps: steps ?? base.steps,
      evalEvery: Math.min(base.evalEvery, steps ?? base.steps),
    };
    const batchSize = plan.train.batchSize ?? 8;
    const evalSteps = evalStepsOf(plan);
    const refreshEvery = plan.curriculum.refreshEvery ?? 10;
    const pool = plan.curriculum.poolSize ?? 2 * batchSize * refreshEvery;
    const facts = (candidates: number): DesignFacts => ({
      steps: plan.steps,
      batchSize,
      candidates,
      pool,
      seeds,
      tuningSeeds,
      heldOutProblems: plan.evalProblemsPerLevel * plan.levels.length,
      evalSamples: plan.evalSampling?.samples ?? 1,
      evalPoints: evalSteps.length,
    });
    // the design minimums, up front (the plan's upper bound on candidates; the built count below)
    const upFront = checkDesign(
      facts(plan.pairProblemsPerLevel * plan.levels.length * plan.maxPairsPerPrompt),
    );
    if (upFront.length > 0) {
      if (!quick)
        throw new UsageError(`the design misses the pre-registered minimums: ${upFront.join("; ")}`);
      console.error(`quick: smoke run, not held to the design minimums (${upFront.join("; ")})`);
    }
    const family = TASKS[task];
    const model = loadModelDir(
      modelDir ?? path.join(BENCH_DIR, "..", "packages", "cli", "assets", family.checkpoint),
    );
    const ctx = await createContext({ label: "sage-bench-convergence" });
    const adapter = ctx.report ? formatAdapter(ctx.report) : "unknown adapter";
    console.error(`adapter: ${adapter}`);
    const resultsDir = out ?? (quick ? OUT_DIR : RESULTS_DIR);
    const name = `convergence-${task}-${slug(adapter).split("-").slice(0, 3).join("-")}${quick ? "-quick" : ""}`;
    const runDir = path.join(OUT_DIR, `${name}-runs`);
    const t0 = performance.now();
    try {
      const built = await buildPlanPairs(model, plan, { ctx, seed: 0, progress: false });
      const sampleMs = (performance.now() - t0) / (built.stats.samples || 1);
      await writePreferencePairs(path.join(runDir, "pairs.jsonl"), built.pairs);
      console.error(
        `candidates: ${built.pairs.length} pairs from ${built.stats.withPairs} of ${built.stats.problems} problems (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
      );
      const built2 = checkDesign(facts(built.pairs.length));
      if (built2.length > 0 && !quick)
        throw new UsageError(`the candidate set misses the pre-registered minimums: ${built2.join("; ")}`);
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
        log: (line: string) => console.error(line),
      };
      // 1. the target, fixed on the tuning seeds (their own held-out split) before any reported run
      const tuning = await runComparison({
        ...common,
        problems: planEvalProblems(plan, { tuning: true }),
        methods: ["uniform"],
        seeds: tuningSeeds,
        runDir: path.join(runDir, "tuning"),
      });
      const fixed = tuningTarget(tuning.runs);
      const target = Math.min(1, Math.max(1e-6, fixed.target));
      // the gate (docs/benchmarks.md): the comparison counts only if uniform gains ≥ 10 points on the tuning seeds
      const tuningGain = 100 * (fixed.final - fixed.start);
      const gatePassed = tuningGain >= GATE_POINTS;
      console.error(
        `target: ${pct(target)} (uniform on tuning seeds ${tuningSeeds.join(", ")}: ${pct(fixed.start)} → ${pct(fixed.final)}, ${tuningGain >= 0 ? "+" : ""}${tuningGain.toFixed(1)} points)`,
      );
      if (!gatePassed)
        console.error(
          `gate: uniform gained ${tuningGain.toFixed(1)} < ${GATE_POINTS} points on the tuning seeds; the comparison does not count${quick ? " (expected for --quick)" : ""}`,
        );
      // 2. every method on the reported seeds
      const problems = planEvalProblems(plan);
      const reported = await runComparison({
        ...common,
        problems,
        methods: methods.map(methodOf),
        seeds,
        runDir: path.join(runDir, "reported"),
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
              runDir: path.join(runDir, "noise"),
            })
          : null;
      const endpoints = convergenceEndpoints(reported.runs, {
        target,
        methods: methods.filter((m) => m !== "uniform"),
        design: { candidates: built.pairs.length, batchSize, tuningSeeds },
        ...(noisy
          ? {
              noiseArm: {
                runs: noisy.runs,
                target,
                methods: noiseMethods.filter((m) => m !== "uniform"),
                noise: { ...noise, flipped: noisy.labelNoise?.flippedIds.length ?? 0 },
              },
            }
          : {}),
      });
      // unit costs measured here, and the full design's budget at those costs
      const stepMs: Record<string, number> = {};
      for (const m of new Set([...methods, ...noiseMethods])) {
        const ds = [...reported.details, ...(noisy?.details ?? [])].filter((d) => d.method === m);
        const st = ds.reduce((s, d) => s + d.steps, 0);
        if (st > 0) stepMs[m] = ds.reduce((s, d) => s + d.wallMs, 0) / st;
      }
      const draws = evalTimes.reduce((s, e) => s + e.draws, 0);
      const costs: UnitCosts = {
        sampleMs,
        evalDrawMs: draws > 0 ? evalTimes.reduce((s, e) => s + e.ms, 0) / draws : 0,
        stepMs,
      };
      const full = CHAINS_BENCH_PLAN;
      const fullEstimate = estimateMinutes(costs, {
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
      console.error(
        `took ${seconds.toFixed(0)} s; full design at these unit costs: ${fullEstimate.total} min (pool ${fullEstimate.pool}, tuning ${fullEstimate.tuning}, reported ${fullEstimate.reported}, noise ${fullEstimate.noise})`,
      );
      const config = {
        task,
        quick,
        plan,
        startPolicy: modelDir ? path.basename(modelDir) : `assets/${family.checkpoint}`,
        pool: { pairs: built.pairs.length, ...built.stats },
        strata: reported.strata.map(family.stratumLabel),
        methods,
        noiseMethods,
        seeds,
        tuningSeeds,
        target: fixed,
        gate: { tuningGain, points: GATE_POINTS, passed: gatePassed },
        designMisses: checkDesign(facts(built.pairs.length)),
      };
      const written = await writeReport(
        {
          title: `Convergence (${task}${quick ? ", quick" : ""}): ${methods.length} methods over ${seeds.length} seeds`,
          adapter,
          machine: `${process.platform} ${process.arch}, Node ${process.version}`,
          config,
          runs: reported.runs,
          target,
          notes:
            `Target ${pct(target)} fixed on ${tuningSeeds.length} tuning seed(s) (uniform: start + 90% of its gain). ` +
            `Accuracy: ${evalDescription(plan)}, ${plan.evalProblemsPerLevel} held-out problems per stratum (${reported.strata.map(family.stratumLabel).join(", ")}). ` +
            "Pairs graded with their work. Wall-clock: the optimiser steps with their scoring passes, after an untimed warm-up of every method; evaluation excluded." +
            (quick ? " A --quick smoke run: small pool and few steps; not evidence either way." : ""),
        },
        path.join(resultsDir, name),
        { onWarning: (w) => console.error(`report: ${w}`) },
      );
      const json = path.join(resultsDir, `${name}.json`);
      writeJsonAtomic(json, {
        ...endpoints,
        adapter,
        config,
        timing: { seconds, unitCosts: costs, fullDesignMinutes: fullEstimate },
        runs: reported.runs,
        details: reported.details.map(portable),
        noiseRuns: noisy?.runs ?? [],
        noiseDetails: (noisy?.details ?? []).map(portable),
        verdict: written.verdict,
      });
      console.log(`${json}\n${written.html}`);
      return 0;
    } finally {
      ctx.destroy();
    }
  },
};
