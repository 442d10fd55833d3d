import { existsSync } from "node:fs";
import { cpus, type as osType } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { SelectorName } from "@sage/curriculum";
import { createContext, formatAdapter, type GpuContext } from "@sage/kernels-webgpu";
import { type LoadedModel, loadModelDir, parameterCount } from "@sage/model";
import { type ReportSummary, type RunSeries, writeReport } from "@sage/report";
import {
  answerGrade,
  atomicWriteJson,
  type BuildPairsResult,
  buildPlanPairs,
  DEMO_PLANS,
  type ExperimentPlan,
  evalDescription,
  MODEL_SIZES,
  type ModelSize,
  type PreferencePair,
  type Problem,
  planEvalProblems,
  runComparison,
  SFT_TINY_RECIPE,
  type StartRecipe,
  TASK_NAMES,
  TASKS,
  type TaskName,
  trainStartPolicy,
  webGpuComparisonPolicies,
  workCheckedGrade,
  writePreferencePairs,
} from "@sage/trainer";
import { CliError } from "../errors.js";

// ───────────────────────────── tasks, plans and recipes (library: @sage/trainer presets) ─────────────────────────────

export {
  DEMO_PLAN,
  evalDescription,
  MODEL_SIZES,
  type ModelSize,
  modelConfigFor,
  QUICK_PLAN,
  SYNTHETIC_SEEDS,
  syntheticProblems,
  syntheticPrompt,
  syntheticSftExamples,
} from "@sage/trainer";

/** Everything the demo (and the convergence benchmark) runs after the start policy (`ExperimentPlan`). */
export type DemoPlan = ExperimentPlan;

/** The recipe of the shipped `sft-tiny` checkpoint (`SFT_TINY_RECIPE` of `@sage/trainer`). */
export const SFT_RECIPE: StartRecipe = SFT_TINY_RECIPE;

/** Exact grader of the synthetic tasks: the last `\boxed{}` must be the integer answer. */
export function syntheticGrade(response: string, answer: string): boolean {
  return answerGrade(response, answer);
}

/**
 * The grader of on-policy pairs: the answer is right AND the work is (`workCheckedGrade`: a chain
 * question's work must be exactly its chain, other problems need every `a op b=c` line right). A
 * sample that reaches the answer through wrong steps counts as incorrect, so it can be a rejected
 * answer but never a chosen one — DPO must not raise the likelihood of wrong reasoning.
 */
export function syntheticPairGrade(
  response: string,
  answer: string,
  problem?: Pick<Problem, "prompt">,
): boolean {
  return workCheckedGrade(response, answer, problem);
}

/** The folder of a shipped checkpoint (`assets/<name>` of this package; default `sft-tiny`). */
export function shippedModelDir(name = "sft-tiny"): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, "assets", name);
    if (existsSync(join(candidate, "config.json"))) return candidate;
    dir = dirname(dir);
  }
  throw new CliError(
    "IO_FAILED",
    `the shipped SFT checkpoint (assets/${name} of @sage/cli) is missing; run \`sage demo --from-scratch\``,
  );
}

function loadShipped(dir: string, label: string): LoadedModel {
  let model: LoadedModel;
  try {
    model = loadModelDir(dir);
  } catch (error) {
    throw new CliError("INPUT_INVALID", `${label} ${dir}: ${(error as Error).message}`, { cause: error });
  }
  if (!model.tokenizer) throw new CliError("INPUT_INVALID", `${dir}: expected a tokenizer.json`);
  return model;
}

// ───────────────────────────── steps of `sage demo` (`prepareStartPolicy` also of `sage bench`) ─────────────────────────────

/**
 * Make or load the start policy of `task` (default synthetic): the shipped checkpoint
 * (`assets/sft-tiny`, `assets/sft-chains`), a folder, or its recipe (`--from-scratch`: SFT from
 * fresh weights for synthetic; the chains stage from the shipped `sft-tiny` for chains).
 */
export async function prepareStartPolicy(
  o: {
    readonly model?: string;
    readonly fromScratch?: boolean;
    readonly modelSize?: ModelSize;
    readonly sftSteps?: number;
    readonly task?: TaskName;
    readonly outDir: string;
    readonly ctx: GpuContext;
    readonly progress: boolean;
  },
  log: (line: string) => void,
): Promise<{ model: LoadedModel; source: string }> {
  const size = o.modelSize ?? "tiny";
  const task = TASKS[o.task ?? "synthetic"];
  if (!o.fromScratch && size !== "tiny" && !o.model) {
    throw new CliError(
      "USAGE_INVALID",
      `--model-size ${size} has no shipped checkpoint: add --from-scratch (SFT first) or give --model <dir>`,
    );
  }
  if (o.model && o.fromScratch)
    throw new CliError("USAGE_INVALID", "--model and --from-scratch exclude each other");
  if (o.fromScratch && size !== "tiny" && task.recipe.from !== undefined) {
    throw new CliError(
      "USAGE_INVALID",
      `--model-size ${size}: the ${task.name} recipe starts from the shipped ${task.recipe.from} (tiny); use --model-size with --task synthetic`,
    );
  }
  if (!o.fromScratch) {
    const dir = o.model ?? shippedModelDir(task.checkpoint);
    return {
      model: loadShipped(dir, "--model"),
      source: o.model ? dir : `shipped checkpoint assets/${task.checkpoint}`,
    };
  }
  const base =
    task.recipe.from !== undefined ? loadShipped(shippedModelDir(task.recipe.from), "checkpoint") : undefined;
  const { model, steps } = await trainStartPolicy(task.recipe, {
    ctx: o.ctx,
    outDir: join(o.outDir, "start"),
    ...(base ? { base } : {}),
    size,
    ...(o.sftSteps !== undefined ? { steps: o.sftSteps } : {}),
    progress: o.progress,
    log,
  });
  return {
    model,
    source: `SFT ${task.recipe.from !== undefined ? `from the shipped ${task.recipe.from}` : "from scratch"} (${task.recipe.name} recipe, ${steps.join(" + ")} steps, ${size})`,
  };
}

/** Sample `plan.samples` answers per pool problem from the start policy and pair correct with wrong ones. */
export async function buildDemoPairs(
  model: LoadedModel,
  plan: DemoPlan,
  o: { readonly ctx: GpuContext; readonly seed: number; readonly progress: boolean },
): Promise<BuildPairsResult> {
  return buildPlanPairs(model, plan, o);
}

/** One demo run's totals (seconds) and its mean gradient SNR. */
export interface DemoRunDetail {
  readonly method: string;
  readonly seed: number;
  readonly trainSeconds: number;
  readonly scoringSeconds: number;
  readonly evalSeconds: number;
  readonly meanSnr: number | null;
}

/**
 * `methods` on one seed with `@sage/trainer`'s `runComparison` (the benchmark's runner): every
 * method trains one untimed warm-up step on a throwaway copy first, so pipeline compilation and the
 * reference cache count against no method's wall-clock; runs are interleaved and written to `runDir`.
 */
export async function runDemoComparison(
  model: LoadedModel,
  pairs: readonly PreferencePair[],
  plan: DemoPlan,
  o: {
    readonly methods: readonly SelectorName[];
    readonly seed: number;
    readonly runDir: string;
    readonly ctx: GpuContext;
    readonly log: (line: string) => void;
  },
): Promise<{ runs: RunSeries[]; details: DemoRunDetail[]; strata: number[] }> {
  const policies = webGpuComparisonPolicies({
    model,
    ctx: o.ctx,
    ...(plan.evalSampling ? { evalSampling: plan.evalSampling } : {}),
    maxNewTokens: plan.maxNewTokens,
    evalBatchSize: 64,
    grade: TASKS[plan.task].grade,
  });
  const evalMs = new Map<string, number>();
  const evalSteps: number[] = [];
  for (let s = plan.evalEvery; s < plan.steps; s += plan.evalEvery) evalSteps.push(s);
  evalSteps.push(plan.steps);
  const { batchSize, ...train } = plan.train;
  const r = await runComparison({
    pairs,
    problems: planEvalProblems(plan),
    startPolicy: policies.startPolicy,
    evaluate: async (policy, problems, at) => {
      const t = performance.now();
      const rec = await policies.evaluate(policy, problems, at);
      const key = at.method ?? "";
      evalMs.set(key, (evalMs.get(key) ?? 0) + performance.now() - t);
      return rec;
    },
    methods: o.methods,
    seeds: [o.seed],
    steps: plan.steps,
    batchSize: batchSize ?? 8,
    evalSteps,
    train,
    curriculum: plan.curriculum,
    runDir: o.runDir,
    onRunStart: (run) => o.log(`run ${run.index + 1} of ${o.methods.length}: ${run.method}`),
    log: o.log,
  });
  return {
    runs: r.runs,
    strata: r.strata,
    details: r.details.map((d) => ({
      method: d.method,
      seed: d.seed,
      trainSeconds: d.wallMs / 1000,
      scoringSeconds: d.scoringMs / 1000,
      evalSeconds: (evalMs.get(d.method) ?? 0) / 1000,
      meanSnr: d.meanSnr,
    })),
  };
}

/**
 * Target accuracy for steps-to-target: 90% of uniform's mean gain over the start policy (the spec's
 * simulation measure); when uniform did not gain, the start accuracy plus 2 points.
 */
export function targetFromBaseline(runs: readonly RunSeries[], baseline = "uniform"): number {
  const base = runs.filter((r) => r.method === baseline);
  const start = runs[0]?.points[0]?.accuracy ?? 0;
  if (base.length === 0) return Math.min(1, start + 0.02);
  const final = base.reduce((s, r) => s + r.points[r.points.length - 1]!.accuracy, 0) / base.length;
  const gain = final - start;
  const target = gain > 0 ? start + 0.9 * gain : start + 0.02;
  return Math.min(1, Math.max(1e-6, target));
}

/** Machine description for reports. */
export function machineDescription(): string {
  const c = cpus();
  return `${osType()} ${process.arch}, ${c.length} × ${c[0]?.model ?? "unknown CPU"}, Node ${process.version}`;
}

// ───────────────────────────── `sage demo` ─────────────────────────────

export interface DemoCommandOptions {
  readonly quick?: boolean;
  /** chains (default) or synthetic. */
  readonly task?: string;
  readonly out?: string;
  readonly fromScratch?: boolean;
  readonly modelSize?: string;
  readonly model?: string;
  readonly sftSteps?: number;
  readonly steps?: number;
  readonly evalEvery?: number;
  readonly seed?: number;
  readonly problems?: number;
  readonly evalProblems?: number;
  readonly samples?: number;
  readonly learningRate?: number;
  readonly rpoAlpha?: number;
  readonly progress?: boolean;
}

export interface DemoResult {
  readonly outDir: string;
  readonly html: string;
  readonly pngs: readonly string[];
  readonly summary: ReportSummary;
  readonly verdict: string;
  readonly adapter: string;
  readonly seconds: Readonly<Record<string, number>>;
  readonly pairs: number;
}

function timestamp(d = new Date()): string {
  return d
    .toISOString()
    .replace(/\.\d+Z$/, "")
    .replace(/:/g, "-");
}

/** Resolve the demo's plan from the options (flags override `--quick` / the default). */
export function demoPlan(o: DemoCommandOptions): DemoPlan {
  const task = demoTask(o.task);
  const base = DEMO_PLANS[task][o.quick ? 1 : 0];
  const steps = o.steps ?? base.steps;
  const evalEvery = o.evalEvery ?? Math.min(base.evalEvery, steps);
  if (evalEvery > steps) {
    throw new CliError("USAGE_INVALID", `--eval-every (${evalEvery}) must be at most --steps (${steps})`);
  }
  return {
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
  };
}

/**
 * `sage demo`: the whole pipeline on the synthetic reasoning tasks, with nothing downloaded. Load the
 * shipped SFT checkpoint (or SFT from scratch), build on-policy pairs (sample, grade, difficulty =
 * 1 − pass rate), run DPO with `uniform` and with `sage` from the same start, seed and step budget,
 * evaluate pass@1 by level on held-out problems, and write the report (HTML + PNG charts + JSON).
 */
export async function demoCommand(o: DemoCommandOptions, log: (line: string) => void): Promise<DemoResult> {
  const t0 = performance.now();
  const plan = demoPlan(o);
  const size = (o.modelSize ?? "tiny") as ModelSize;
  if (!(size in MODEL_SIZES)) {
    throw new CliError(
      "USAGE_INVALID",
      `--model-size must be one of ${Object.keys(MODEL_SIZES).join(", ")}; received ${JSON.stringify(o.modelSize)}`,
    );
  }
  const seed = o.seed ?? 0;
  const taskName = plan.task;
  const task = TASKS[taskName];
  const outDir = resolve(o.out ?? join("runs", `demo-${timestamp()}`));
  const progress = o.progress ?? true;
  const ctx = await createContext({ label: "sage-demo" });
  const adapter = ctx.report ? formatAdapter(ctx.report) : "unknown adapter";
  log(`adapter: ${adapter}`);
  log(`output: ${outDir}`);
  const seconds: Record<string, number> = {};
  const lap = (name: string, since: number) => {
    seconds[name] = (performance.now() - since) / 1000;
    return performance.now();
  };
  try {
    let t = performance.now();
    const { model, source } = await prepareStartPolicy(
      {
        ...(o.model !== undefined ? { model: o.model } : {}),
        fromScratch: o.fromScratch ?? false,
        modelSize: size,
        ...(o.sftSteps !== undefined ? { sftSteps: o.sftSteps } : {}),
        task: taskName,
        outDir,
        ctx,
        progress,
      },
      log,
    );
    t = lap("start_policy", t);
    log(`start policy: ${source} (${parameterCount(model.config)} parameters)`);
    const built = await buildDemoPairs(model, plan, { ctx, seed, progress });
    t = lap("pairs", t);
    const s = built.stats;
    log(
      `pairs: ${built.pairs.length} from ${s.withPairs} of ${s.problems} problems (${s.samples} samples, mean pass rate ${(100 * s.meanPassRate).toFixed(1)}%)`,
    );
    if (built.pairs.length < (plan.train.batchSize ?? 8)) {
      throw new CliError(
        "INPUT_INVALID",
        `only ${built.pairs.length} on-policy pairs (the start policy got every sample right or every sample wrong); more problems (--problems) or samples (--samples) needed`,
      );
    }
    await writePreferencePairs(join(outDir, "pairs.jsonl"), built.pairs);
    const methods: SelectorName[] = ["uniform", "sage"];
    const result = await runDemoComparison(model, built.pairs, plan, {
      methods,
      seed,
      runDir: join(outDir, "runs"),
      ctx,
      log,
    });
    t = lap("dpo_and_eval", t);
    const target = targetFromBaseline(result.runs);
    const config = {
      command: `sage demo --task ${taskName}${o.quick ? " --quick" : ""}`,
      startPolicy: source,
      modelSize: size,
      parameters: parameterCount(model.config),
      seed,
      plan,
      pool: { pairs: built.pairs.length, ...built.stats },
      strata: result.strata.map(task.stratumLabel),
      target,
      runs: result.details.map((d) => ({
        method: d.method,
        seed: d.seed,
        trainSeconds: round(d.trainSeconds),
        scoringSeconds: round(d.scoringSeconds),
        evalSeconds: round(d.evalSeconds),
        meanGradSnr: d.meanSnr === null ? null : round(d.meanSnr),
      })),
    };
    const written = await writeReport(
      {
        title: `sage demo${o.quick ? " --quick" : ""}: SAGE vs uniform DPO on ${taskName === "chains" ? "arithmetic chains" : "synthetic reasoning tasks"}`,
        adapter,
        machine: machineDescription(),
        config,
        runs: result.runs,
        target,
        notes:
          `One seed per method (${seed}): a demonstration, not a test — see \`sage bench convergence\` for seeds and intervals. ` +
          `Strata are ${taskName === "chains" ? "chain lengths (steps)" : "synthetic levels"} ${result.strata.join(", ")} of ${plan.evalProblemsPerLevel} held-out problems each (${evalDescription(plan)}). ` +
          "Pairs are graded with their work (a right answer through wrong steps is never chosen). " +
          "Wall-clock is training time with scoring passes, after one untimed warm-up step of every method; evaluation excluded. Target = start + 90% of uniform's gain.",
      },
      outDir,
      { onWarning: (w) => log(`report: ${w}`) },
    );
    lap("report", t);
    seconds.total = (performance.now() - t0) / 1000;
    await atomicWriteJson(join(outDir, "timings.json"), seconds);
    await atomicWriteJson(join(outDir, "series.json"), { runs: result.runs, details: result.details });
    return {
      outDir,
      html: written.html,
      pngs: written.pngs,
      summary: written.summary,
      verdict: written.verdict,
      adapter,
      seconds,
      pairs: built.pairs.length,
    };
  } finally {
    ctx.destroy();
  }
}

/** The task of `--task` (default chains); a usage error lists the names. */
export function demoTask(name: string | undefined): TaskName {
  const task = name ?? "chains";
  if (!(TASK_NAMES as readonly string[]).includes(task)) {
    throw new CliError(
      "USAGE_INVALID",
      `--task must be one of ${TASK_NAMES.join(", ")}; received ${JSON.stringify(name)}`,
    );
  }
  return task as TaskName;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
