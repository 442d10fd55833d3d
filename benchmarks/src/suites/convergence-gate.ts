/**
 * `npm run bench -- convergence-gate [--model DIR] [--seeds 100] [--steps 150] [--out DIR]`
 *
 * The gate of the benchmark v2 regime (docs/benchmarks.md, "Benchmark v2 regime: the gate (tuning
 * seeds)"): does uniform DPO gain ≥ 10 points of sampled pass@1 within 150 steps from the chains
 * start policy? On TUNING seeds only (the report seeds 1–5 are refused): build the on-policy
 * candidate set (`buildPlanPairs`, work-checked grading), then `runComparison` of uniform DPO + NLL
 * and plain DPO at two learning rates each and the SFT-on-chosen control, evaluated on the tuning
 * held-out split both sampled (4 draws at T = 1) and greedy, per stratum (chain length).
 * Everything comes from `@sage/trainer`'s library (`presets`, `recipes`, `comparison`).
 */
import * as path from "node:path";
import { createContext, formatAdapter } from "@sage/kernels-webgpu";
import { type LoadedModel, loadModelDir } from "@sage/model";
import {
  buildPlanPairs,
  CHAINS_GATE_PLAN,
  type ComparisonMethodSpec,
  type ComparisonPolicy,
  type ExperimentPlan,
  type Problem,
  planEvalProblems,
  preferenceDataHash,
  runComparison,
  SFT_CHOSEN,
  TASKS,
  webGpuComparisonPolicies,
  writePreferencePairs,
} from "@sage/trainer";
import { BENCH_DIR, OUT_DIR, userPath, writeJsonAtomic } from "../lib/results.js";
import { positiveInt, type Suite, UsageError } from "../lib/suite.js";

const USAGE = `usage: npm run bench -- convergence-gate [options]

  --model DIR      start policy (default: @sage/cli's shipped assets/sft-chains)
  --seeds LIST     tuning seeds, comma-separated (default 100; the report seeds 1-5 are refused)
  --steps N        DPO steps per run (default 150)
  --methods LIST   labels of the gate's methods to run (default all)
  --problems N     pool problems per chain length (default 200)
  --eval-problems N  held-out problems per chain length (default 40)
  --out DIR        folder of pairs, runs and gate.json (default benchmarks/out/gate)`;

/** The report's seeds: never used for tuning. */
const REPORT_SEEDS = [1, 2, 3, 4, 5];

/** The gate's methods: uniform DPO + NLL and plain DPO at two learning rates, and the SFT control. */
export const GATE_METHODS: readonly ComparisonMethodSpec[] = [
  { label: "dpo+nll-lr1e-4", selector: "uniform", train: { learningRate: 1e-4, rpoAlpha: 1 } },
  { label: "dpo+nll-lr2e-5", selector: "uniform", train: { learningRate: 2e-5, rpoAlpha: 1 } },
  { label: "dpo-lr5e-5", selector: "uniform", train: { learningRate: 5e-5, rpoAlpha: 0 } },
  { label: "dpo-lr2e-5", selector: "uniform", train: { learningRate: 2e-5, rpoAlpha: 0 } },
  { label: "sft-chosen-lr1e-4", selector: SFT_CHOSEN, train: { learningRate: 1e-4 } },
  { label: "sft-chosen-lr2e-5", selector: SFT_CHOSEN, train: { learningRate: 2e-5 } },
];

function parseSeeds(s: string): number[] {
  const seeds = s.split(",").map((x) => positiveInt(x.trim(), "--seeds", 1_000_000));
  const bad = seeds.filter((x) => REPORT_SEEDS.includes(x));
  if (bad.length > 0)
    throw new UsageError(`--seeds: ${bad.join(", ")} are report seeds (1-5); the gate runs on tuning seeds`);
  return seeds;
}

function defaultModelDir(): string {
  return path.join(BENCH_DIR, "..", "packages", "cli", "assets", "sft-chains");
}

interface EvalRow {
  seed: number;
  step: number;
  method: string | null;
  record: Record<string, number>;
}

export const suite: Suite = {
  name: "convergence-gate",
  description:
    "Benchmark v2 gate: does uniform DPO gain ≥ 10 points of sampled pass@1 in 150 steps (chains, tuning seeds)",
  usage: USAGE,
  async run(args) {
    let modelDir = defaultModelDir();
    let seeds = [100];
    let steps = CHAINS_GATE_PLAN.steps;
    let only: string[] | null = null;
    let problemsPerLength = CHAINS_GATE_PLAN.pairProblemsPerLevel;
    let evalPerLength = CHAINS_GATE_PLAN.evalProblemsPerLevel;
    let out = path.join(OUT_DIR, "gate");
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      const v = args[i + 1];
      if (v === undefined) throw new UsageError(`${a}: expected a value`);
      if (a === "--model") modelDir = userPath(v);
      else if (a === "--seeds") seeds = parseSeeds(v);
      else if (a === "--steps") steps = positiveInt(v, "--steps", 100_000);
      else if (a === "--methods") only = v.split(",");
      else if (a === "--out") out = userPath(v);
      else if (a === "--problems") problemsPerLength = positiveInt(v, "--problems", 100_000);
      else if (a === "--eval-problems") evalPerLength = positiveInt(v, "--eval-problems", 100_000);
      else throw new UsageError(`unknown option '${a.slice(0, 40)}'`);
      i++;
    }
    const methods = only ? GATE_METHODS.filter((m) => only.includes(m.label)) : GATE_METHODS;
    if (methods.length === 0)
      throw new UsageError(`--methods: expected labels among ${GATE_METHODS.map((m) => m.label).join(", ")}`);
    const plan: ExperimentPlan = {
      ...CHAINS_GATE_PLAN,
      steps,
      pairProblemsPerLevel: problemsPerLength,
      evalProblemsPerLevel: evalPerLength,
    };
    const model: LoadedModel = loadModelDir(modelDir);
    const ctx = await createContext({ label: "sage-gate" });
    const adapter = ctx.report ? formatAdapter(ctx.report) : "unknown adapter";
    console.error(`adapter: ${adapter}`);
    try {
      const problems: Problem[] = planEvalProblems(plan, { tuning: true });
      const task = TASKS[plan.task];
      const result: Record<string, unknown> = { adapter, model: path.basename(modelDir), plan, seeds };
      for (const seed of seeds) {
        const t0 = performance.now();
        const built = await buildPlanPairs(model, plan, { ctx, seed, progress: false });
        const pairSeconds = (performance.now() - t0) / 1000;
        const byStratum: Record<string, number> = {};
        for (const p of built.pairs) byStratum[`k${p.level}`] = (byStratum[`k${p.level}`] ?? 0) + 1;
        const pairsFile = path.join(out, `pairs-s${seed}.jsonl`);
        await writePreferencePairs(pairsFile, built.pairs);
        console.error(
          `seed ${seed}: ${built.pairs.length} pairs ${JSON.stringify(byStratum)} in ${pairSeconds.toFixed(0)} s; mean pass rate ${(100 * built.stats.meanPassRate).toFixed(1)}%`,
        );
        const sampled = webGpuComparisonPolicies({
          model,
          ctx,
          evalSampling: plan.evalSampling ?? { samples: 4, temperature: 1 },
          maxNewTokens: plan.maxNewTokens,
          evalBatchSize: 100,
          grade: task.grade,
        });
        const greedy = webGpuComparisonPolicies({
          model,
          ctx,
          maxNewTokens: plan.maxNewTokens,
          evalBatchSize: 100,
          grade: task.grade,
        });
        const evals: EvalRow[] = [];
        const evaluate = async (
          policy: ComparisonPolicy,
          ps: readonly Problem[],
          at: { readonly seed: number; readonly step: number; readonly method: string | null },
        ) => {
          const s = await sampled.evaluate(policy, ps, at);
          const g = await greedy.evaluate(policy, ps, at);
          const record: Record<string, number> = { ...s };
          for (const [k, x] of Object.entries(g)) record[`greedy/${k}`] = x;
          evals.push({ seed: at.seed, step: at.step, method: at.method, record });
          console.error(
            `  ${at.method ?? "start"} step ${at.step}: sampled ${(100 * s["eval/pass@1"]!).toFixed(1)}%, greedy ${(100 * g["eval/pass@1"]!).toFixed(1)}%`,
          );
          return s;
        };
        const comparison = await runComparison({
          pairs: built.pairs,
          problems,
          startPolicy: sampled.startPolicy,
          evaluate,
          methods,
          seeds: [seed],
          steps,
          batchSize: plan.train.batchSize ?? 8,
          evalSteps: [50, 100, 150].filter((s) => s < steps).concat([steps]),
          train: {
            ...(plan.train.beta !== undefined ? { beta: plan.train.beta } : {}),
            scoringBatchSize: 64,
          },
          curriculum: plan.curriculum,
          runDir: path.join(out, `runs-s${seed}`),
          warmupSteps: 0,
          log: (line) => console.error(line),
        });
        result[`seed${seed}`] = {
          pairs: {
            count: built.pairs.length,
            byStratum,
            stats: built.stats,
            sha256: preferenceDataHash(built.pairs),
            seconds: pairSeconds,
          },
          evals,
          runs: comparison.details.map((d) => ({
            method: d.method,
            wallMs: d.wallMs,
            nonFiniteSteps: d.nonFiniteSteps,
            last: d.last,
          })),
        };
        writeJsonAtomic(path.join(out, "gate.json"), result);
      }
      console.log(path.join(out, "gate.json"));
      return 0;
    } finally {
      ctx.destroy();
    }
  },
};
