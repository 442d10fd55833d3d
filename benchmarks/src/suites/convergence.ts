/**
 * `npm run bench -- convergence [--task chains|synthetic] [--quick] [--methods LIST] [--seeds LIST] …`
 *
 * The paper's claim under our control, on the library only (no CLI): the start policy shipped for
 * the task (`@sage/cli`'s `assets/sft-chains` or `assets/sft-tiny`, or `--model`), one on-policy
 * candidate set (`buildPlanPairs` of `@sage/trainer`'s presets, work-checked grading), then
 * `runComparison` (paired, interleaved, warm-up excluded from wall-clock): first `uniform` on the
 * TUNING seeds to fix the absolute target (`tuningTarget` of `@sage/report`: start + 90% of its
 * gain), then every method on the REPORTED seeds, summarised by `convergenceEndpoints` (AUC
 * differences with Holm, steps and wall-clock ratios with bootstrap intervals, MDE) and written as
 * `convergence-<task>-<adapter>.json` plus the HTML report in `convergence-<task>-<adapter>/`.
 */
import * as path from "node:path";
import { SELECTOR_NAMES, type SelectorName } from "@sage/curriculum";
import { createContext, formatAdapter } from "@sage/kernels-webgpu";
import { loadModelDir } from "@sage/model";
import { convergenceEndpoints, tuningTarget, writeReport } from "@sage/report";
import {
  buildPlanPairs,
  DEMO_PLANS,
  type ExperimentPlan,
  evalDescription,
  planEvalProblems,
  runComparison,
  TASK_NAMES,
  TASKS,
  type TaskName,
  webGpuComparisonPolicies,
  writePreferencePairs,
} from "@sage/trainer";
import { BENCH_DIR, OUT_DIR, RESULTS_DIR, slug, userPath, writeJsonAtomic } from "../lib/results.js";
import { positiveInt, type Suite, UsageError } from "../lib/suite.js";

const USAGE = `usage: npm run bench -- convergence [options]

  --task NAME           chains (default: chain lengths 1-5, start policy sft-chains) or synthetic
  --quick               2 reported seeds, the demo's quick plan; results in benchmarks/out/
  --methods LIST        selectors, comma-separated (default uniform,sage; must include both)
  --seeds LIST          reported seeds (default 1,2,3; at least 2)
  --tuning-seeds LIST   seeds that fix the target, never reported (default 100)
  --steps N             DPO steps per run (default: the task's demo plan)
  --model DIR           start policy (default: @sage/cli's shipped checkpoint of the task)
  --out DIR             results folder (default benchmarks/results, --quick benchmarks/out)`;

function intList(flag: string, text: string): number[] {
  const xs = text.split(",").map((s) => positiveInt(s.trim(), flag, 1_000_000));
  if (new Set(xs).size !== xs.length)
    throw new UsageError(`${flag}: a seed is repeated in '${text.slice(0, 40)}'`);
  return xs;
}

export const suite: Suite = {
  name: "convergence",
  description:
    "SAGE vs baselines (library runner): tuning-fixed target, paired endpoints over reported seeds",
  usage: USAGE,
  async run(args) {
    let task: TaskName = "chains";
    let quick = false;
    let methods: SelectorName[] = ["uniform", "sage"];
    let seeds = [1, 2, 3];
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
      } else if (a === "--methods") {
        const names = v.split(",").map((s) => s.trim());
        const bad = names.find((n) => !(SELECTOR_NAMES as readonly string[]).includes(n));
        if (bad !== undefined)
          throw new UsageError(
            `--methods: unknown '${bad.slice(0, 40)}'; expected some of ${SELECTOR_NAMES.join(", ")}`,
          );
        methods = names as SelectorName[];
      } else if (a === "--seeds") seeds = intList("--seeds", v);
      else if (a === "--tuning-seeds") tuningSeeds = intList("--tuning-seeds", v);
      else if (a === "--steps") steps = positiveInt(v, "--steps", 100_000);
      else if (a === "--model") modelDir = userPath(v);
      else if (a === "--out") out = userPath(v);
      else throw new UsageError(`unknown option '${a.slice(0, 40)}'`);
    }
    if (!methods.includes("uniform") || !methods.includes("sage"))
      throw new UsageError("--methods must include uniform (the baseline) and sage (the subject)");
    if (seeds.length < 2)
      throw new UsageError("--seeds: the paired endpoints need at least 2 reported seeds");
    const clash = seeds.filter((s) => tuningSeeds.includes(s));
    if (clash.length > 0) throw new UsageError(`--seeds and --tuning-seeds share ${clash.join(", ")}`);
    const base = DEMO_PLANS[task][quick ? 1 : 0];
    const plan: ExperimentPlan = {
      ...base,
      steps: steps ?? base.steps,
      evalEvery: Math.min(base.evalEvery, steps ?? base.steps),
    };
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
    try {
      const built = await buildPlanPairs(model, plan, { ctx, seed: 0, progress: false });
      await writePreferencePairs(path.join(runDir, "pairs.jsonl"), built.pairs);
      console.error(
        `candidates: ${built.pairs.length} pairs from ${built.stats.withPairs} of ${built.stats.problems} problems`,
      );
      const policies = webGpuComparisonPolicies({
        model,
        ctx,
        ...(plan.evalSampling ? { evalSampling: plan.evalSampling } : {}),
        maxNewTokens: plan.maxNewTokens,
        evalBatchSize: 64,
        grade: family.grade,
      });
      const batchSize = plan.train.batchSize ?? 8;
      const evalSteps: number[] = [];
      for (let s = plan.evalEvery; s < plan.steps; s += plan.evalEvery) evalSteps.push(s);
      evalSteps.push(plan.steps);
      const { batchSize: _b, ...train } = plan.train;
      const common = {
        pairs: built.pairs,
        ...policies,
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
      console.error(
        `target: ${(100 * target).toFixed(1)}% (uniform on tuning seeds ${tuningSeeds.join(", ")})`,
      );
      // 2. every method on the reported seeds
      const reported = await runComparison({
        ...common,
        problems: planEvalProblems(plan),
        methods,
        seeds,
        runDir: path.join(runDir, "reported"),
      });
      const endpoints = convergenceEndpoints(reported.runs, {
        target,
        methods: methods.filter((m) => m !== "uniform"),
        design: { candidates: built.pairs.length, batchSize, tuningSeeds },
      });
      const config = {
        task,
        plan,
        startPolicy: modelDir ? path.basename(modelDir) : `assets/${family.checkpoint}`,
        pool: { pairs: built.pairs.length, ...built.stats },
        strata: reported.strata.map(family.stratumLabel),
        seeds,
        tuningSeeds,
        target: fixed,
      };
      const written = await writeReport(
        {
          title: `Convergence (${task}): ${methods.join(" vs ")} over seeds ${seeds.join(", ")}`,
          adapter,
          machine: `${process.platform} ${process.arch}, Node ${process.version}`,
          config,
          runs: reported.runs,
          target,
          notes:
            `Target ${(100 * target).toFixed(1)}% fixed on the tuning seed(s) ${tuningSeeds.join(", ")} (uniform: start + 90% of its gain). ` +
            `Accuracy: ${evalDescription(plan)}, ${plan.evalProblemsPerLevel} held-out problems per stratum (${reported.strata.map(family.stratumLabel).join(", ")}). ` +
            "Pairs graded with their work. Wall-clock: the optimiser steps with their scoring passes, after an untimed warm-up of every method; evaluation excluded.",
        },
        path.join(resultsDir, name),
        { onWarning: (w) => console.error(`report: ${w}`) },
      );
      const json = path.join(resultsDir, `${name}.json`);
      writeJsonAtomic(json, {
        adapter,
        config,
        endpoints,
        runs: reported.runs,
        details: reported.details,
        verdict: written.verdict,
      });
      console.log(`${json}\n${written.html}`);
      return 0;
    } finally {
      ctx.destroy();
    }
  },
};
