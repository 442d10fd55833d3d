import { existsSync } from "node:fs";
import { cpus, type as osType } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { CurriculumConfigInput, SelectorName } from "@sage/curriculum";
import { generateSynthetic, SYNTHETIC_CHARSET, verifySynthetic } from "@sage/eval-math";
import { createContext, formatAdapter, type GpuContext } from "@sage/kernels-webgpu";
import {
  CharTokenizer,
  createConfig,
  initWeights,
  type LoadedModel,
  loadModelDir,
  type ModelConfig,
  Policy,
  parameterCount,
  saveModelDir,
} from "@sage/model";
import { type ReportSummary, type RunSeries, writeReport } from "@sage/report";
import {
  atomicWriteFile,
  atomicWriteJson,
  type BuildPairsResult,
  buildOnPolicyPairs,
  createProgress,
  type DpoTrainConfigInput,
  type ExperimentMethod,
  type ExperimentResult,
  type PreferencePair,
  type Problem,
  runExperiment,
  runSft,
  type SftConfigInput,
  type SftExample,
  WebGpuPolicy,
  webGpuSampler,
  writePreferencePairs,
} from "@sage/trainer";
import { CliError } from "../errors.js";

// ───────────────────────────── the synthetic task ─────────────────────────────

/** How a synthetic question becomes a prompt (the shipped checkpoint was trained on this). */
export function syntheticPrompt(question: string): string {
  return `q: ${question}\na: `;
}

/** Held-out or training problems: `perLevel` of each level, from generator seed `seed`. */
export function syntheticProblems(seed: number, levels: readonly number[], perLevel: number): Problem[] {
  return levels.flatMap((level) =>
    generateSynthetic({ seed, level: level as 1 | 2 | 3 | 4 | 5, count: perLevel }).map((p) => ({
      id: p.id,
      prompt: syntheticPrompt(p.question),
      answer: p.answer,
      level,
    })),
  );
}

/** SFT examples: the worked solutions of `perLevel` problems per level. */
export function syntheticSftExamples(
  seed: number,
  levels: readonly number[],
  perLevel: number,
): SftExample[] {
  return levels.flatMap((level) =>
    generateSynthetic({ seed, level: level as 1 | 2 | 3 | 4 | 5, count: perLevel }).map((p) => ({
      id: p.id,
      prompt: syntheticPrompt(p.question),
      completion: p.solution,
    })),
  );
}

/** Exact grader of the synthetic tasks: the last `\boxed{}` must be the integer answer. */
export function syntheticGrade(response: string, answer: string): boolean {
  return verifySynthetic({ answer }, response).correct;
}

/**
 * The grader of on-policy pairs: the answer is right AND every `a op b=c` line of the work is
 * arithmetically right. A sample that reaches the answer through wrong steps (common when the
 * policy solves a problem 1 time in 20) counts as incorrect, so it can be a rejected answer but
 * never a chosen one — DPO must not raise the likelihood of wrong reasoning.
 */
export function syntheticPairGrade(response: string, answer: string): boolean {
  const v = verifySynthetic({ answer }, response);
  return v.correct && v.stepsValid;
}

/** Generator seeds: SFT data, the pair pool's problems and the held-out problems never overlap. */
export const SYNTHETIC_SEEDS = { sft: 1000, pairs: 2000, eval: 3000 } as const;

// ───────────────────────────── models ─────────────────────────────

/** Architectures by `--model-size` (llama-style, char tokenizer over `SYNTHETIC_CHARSET`). */
export const MODEL_SIZES = {
  tiny: { hiddenSize: 64, intermediateSize: 192, numLayers: 2, numHeads: 4 },
  small: { hiddenSize: 128, intermediateSize: 384, numLayers: 4, numHeads: 4 },
  base: { hiddenSize: 256, intermediateSize: 768, numLayers: 6, numHeads: 8 },
  large: { hiddenSize: 512, intermediateSize: 1536, numLayers: 8, numHeads: 8 },
} as const;
export type ModelSize = keyof typeof MODEL_SIZES;

export function modelConfigFor(size: ModelSize, tokenizer: CharTokenizer): ModelConfig {
  return createConfig({
    modelType: "llama",
    ...MODEL_SIZES[size],
    vocabSize: tokenizer.vocabSize,
    tieWordEmbeddings: true,
    maxPositionEmbeddings: 320,
  });
}

/** One SFT stage: the worked solutions of `perLevel` problems per level (generator seed `SYNTHETIC_SEEDS.sft`). */
export interface SftStage {
  readonly levels: readonly number[];
  readonly perLevel: number;
  readonly train: SftConfigInput & { readonly steps: number };
}

/**
 * SFT recipe of the start policy (the shipped `sft-tiny` checkpoint is this with `tiny`): stage 1
 * teaches the answer format on levels 1–2; stage 2 continues from it on levels 1–3 with more data
 * and steps, which takes level-1 greedy pass@1 from 22% to 98% (the README of the checkpoint has
 * the figures).
 */
export const SFT_RECIPE: { readonly initSeed: number; readonly stages: readonly SftStage[] } = {
  initSeed: 1,
  stages: [
    {
      levels: [1, 2],
      perLevel: 4000,
      train: {
        steps: 400,
        batchSize: 32,
        learningRate: 0.004,
        lrSchedule: "cosine",
        warmupSteps: 30,
        checkpointEvery: 50,
        seed: 0,
      },
    },
    {
      levels: [1, 2, 3],
      perLevel: 10000,
      train: {
        steps: 1500,
        batchSize: 32,
        learningRate: 0.003,
        lrSchedule: "cosine",
        warmupSteps: 30,
        checkpointEvery: 250,
        seed: 0,
      },
    },
  ],
};

/** The folder of the shipped SFT checkpoint (`assets/sft-tiny` of this package). */
export function shippedModelDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, "assets", "sft-tiny");
    if (existsSync(join(candidate, "config.json"))) return candidate;
    dir = dirname(dir);
  }
  throw new CliError(
    "IO",
    "the shipped SFT checkpoint (assets/sft-tiny of @sage/cli) is missing; run `sage demo --from-scratch`",
  );
}

// ───────────────────────────── the plan ─────────────────────────────

/** Everything the demo (and the convergence benchmark) runs, in one object. */
export interface DemoPlan {
  /** Levels of the pair pool's problems and of the held-out problems (the strata). */
  readonly levels: readonly number[];
  readonly pairProblemsPerLevel: number;
  /** Samples per pool problem. */
  readonly samples: number;
  readonly maxPairsPerPrompt: number;
  readonly evalProblemsPerLevel: number;
  /** Tokens per sampled / evaluated answer. */
  readonly maxNewTokens: number;
  /** pass@1 estimator: greedy when absent, else the mean of `samples` draws at `temperature` per held-out problem. */
  readonly evalSampling?: { readonly samples: number; readonly temperature: number };
  readonly steps: number;
  readonly evalEvery: number;
  readonly train: Omit<DpoTrainConfigInput, "steps" | "seed" | "evalEvery">;
  readonly curriculum: CurriculumConfigInput;
}

/** `sage demo` (≤ 15 minutes on a 2-core lavapipe machine). */
export const DEMO_PLAN: DemoPlan = {
  levels: [1, 2, 3],
  pairProblemsPerLevel: 96,
  samples: 8,
  maxPairsPerPrompt: 2,
  evalProblemsPerLevel: 32,
  evalSampling: { samples: 4, temperature: 1 },
  maxNewTokens: 48,
  steps: 60,
  evalEvery: 10,
  train: {
    batchSize: 8,
    gradientAccumulation: 2,
    gradSnrEvery: 2,
    beta: 0.1,
    learningRate: 2e-5,
    rpoAlpha: 1,
    scoringBatchSize: 64,
  },
  curriculum: { refreshEvery: 10, probeSize: 16, nStrata: 3 },
};

/** `sage demo --quick` (≤ 3 minutes on a 2-core lavapipe machine). */
export const QUICK_PLAN: DemoPlan = {
  ...DEMO_PLAN,
  pairProblemsPerLevel: 32,
  evalProblemsPerLevel: 12,
  steps: 20,
  evalEvery: 5,
  curriculum: { refreshEvery: 5, probeSize: 8, nStrata: 3 },
};

// ───────────────────────────── steps shared with `sage bench` ─────────────────────────────

/** Make or load the start policy: the shipped checkpoint, a folder, or SFT from scratch. */
export async function prepareStartPolicy(
  o: {
    readonly model?: string;
    readonly fromScratch?: boolean;
    readonly modelSize?: ModelSize;
    readonly sftSteps?: number;
    readonly outDir: string;
    readonly ctx: GpuContext;
    readonly progress: boolean;
  },
  log: (line: string) => void,
): Promise<{ model: LoadedModel; source: string }> {
  const size = o.modelSize ?? "tiny";
  if (!o.fromScratch && size !== "tiny" && !o.model) {
    throw new CliError(
      "USAGE",
      `--model-size ${size} has no shipped checkpoint: add --from-scratch (SFT first) or give --model <dir>`,
    );
  }
  if (o.model && o.fromScratch) throw new CliError("USAGE", "--model and --from-scratch exclude each other");
  if (!o.fromScratch) {
    const dir = o.model ?? shippedModelDir();
    let model: LoadedModel;
    try {
      model = loadModelDir(dir);
    } catch (error) {
      throw new CliError("INPUT_INVALID", `--model ${dir}: ${(error as Error).message}`, { cause: error });
    }
    if (!model.tokenizer) throw new CliError("INPUT_INVALID", `${dir}: expected a tokenizer.json`);
    return { model, source: o.model ? dir : "shipped checkpoint assets/sft-tiny" };
  }
  // SFT from scratch on the synthetic solutions (the recipe of the shipped checkpoint)
  const tokenizer = new CharTokenizer(SYNTHETIC_CHARSET);
  const config = modelConfigFor(size, tokenizer);
  let weights = initWeights(config, SFT_RECIPE.initSeed);
  const startDir = join(o.outDir, "start");
  saveModelDir(join(startDir, "init"), config, weights, { tokenizer });
  const steps = SFT_RECIPE.stages.map((st) => o.sftSteps ?? st.train.steps);
  log(
    `SFT from scratch: ${size} model (${parameterCount(config)} parameters), ${SFT_RECIPE.stages.length} stages of ${steps.join(" + ")} steps`,
  );
  for (const [i, stage] of SFT_RECIPE.stages.entries()) {
    const examples = syntheticSftExamples(SYNTHETIC_SEEDS.sft, stage.levels, stage.perLevel);
    await atomicWriteFile(
      join(startDir, `sft-${i + 1}.jsonl`),
      `${examples.map((e) => JSON.stringify({ id: e.id, prompt: e.prompt, completion: e.completion })).join("\n")}\n`,
    );
    const policy = Policy.create(o.ctx, config, weights);
    const gpu = new WebGpuPolicy({ policy, tokenizer });
    try {
      const result = await runSft({
        config: { ...stage.train, steps: steps[i]! },
        policy: gpu,
        examples,
        runDir: join(startDir, `sft-run-${i + 1}`),
        progress: o.progress,
        log,
      });
      if (result.status !== "completed")
        throw new CliError("IO", `SFT stage ${i + 1} ended ${result.status} at step ${result.step}`);
      weights = await policy.readWeights();
    } finally {
      gpu.destroy();
      policy.destroy();
    }
  }
  saveModelDir(join(startDir, "model"), config, weights, { tokenizer });
  return {
    model: { config, weights, tokenizer },
    source: `SFT from scratch (${steps.join(" + ")} steps, ${size})`,
  };
}

/** Sample `plan.samples` answers per pool problem from the start policy and pair correct with wrong ones. */
export async function buildDemoPairs(
  model: LoadedModel,
  plan: DemoPlan,
  o: { readonly ctx: GpuContext; readonly seed: number; readonly progress: boolean },
): Promise<BuildPairsResult> {
  const problems = syntheticProblems(SYNTHETIC_SEEDS.pairs, plan.levels, plan.pairProblemsPerLevel);
  const batchSize = 64;
  const bar = o.progress
    ? createProgress({
        total: Math.ceil(problems.length / batchSize) * plan.samples,
        label: "sampling pairs",
      })
    : undefined;
  const policy = Policy.create(o.ctx, model.config, model.weights, { trainable: false });
  try {
    return await buildOnPolicyPairs({
      problems,
      n: plan.samples,
      batchSize,
      maxPairsPerPrompt: plan.maxPairsPerPrompt,
      seed: o.seed,
      grade: syntheticPairGrade,
      sample: webGpuSampler(policy, model.tokenizer!, {
        maxNewTokens: plan.maxNewTokens,
        temperature: 1,
        seed: o.seed,
      }),
      ...(bar ? { onProgress: (done: number) => bar.update(done) } : {}),
    });
  } finally {
    bar?.stop();
    policy.destroy();
  }
}

/** Run `methods` × `seeds` from one start and pool (`runExperiment`) with an overall progress bar. */
export async function runComparison(
  model: LoadedModel,
  pairs: readonly PreferencePair[],
  plan: DemoPlan,
  o: {
    readonly methods: readonly ExperimentMethod[];
    readonly seeds: readonly number[];
    readonly runDir: string;
    readonly ctx: GpuContext;
    readonly progress: boolean;
    readonly log: (line: string) => void;
    readonly curriculumFor?: Readonly<Partial<Record<SelectorName, CurriculumConfigInput>>>;
  },
): Promise<ExperimentResult> {
  const bar = o.progress
    ? createProgress({ total: o.methods.length * o.seeds.length * plan.steps, label: "dpo" })
    : undefined;
  try {
    return await runExperiment({
      start: model,
      pairs,
      methods: o.methods,
      seeds: o.seeds,
      steps: plan.steps,
      evalEvery: plan.evalEvery,
      evalProblems: syntheticProblems(SYNTHETIC_SEEDS.eval, plan.levels, plan.evalProblemsPerLevel),
      train: plan.train,
      curriculum: plan.curriculum,
      ...(o.curriculumFor ? { curriculumFor: o.curriculumFor } : {}),
      runDir: o.runDir,
      maxNewTokens: plan.maxNewTokens,
      ...(plan.evalSampling ? { evalSampling: plan.evalSampling } : {}),
      evalBatchSize: 64,
      grade: syntheticGrade,
      ctx: o.ctx,
      ...(bar ? { progress: bar } : {}),
      log: o.log,
    });
  } finally {
    bar?.stop();
  }
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

/** How a plan estimates pass@1, in words (report notes). */
export function evalDescription(plan: DemoPlan): string {
  const s = plan.evalSampling;
  return s
    ? `pass@1 = mean of ${s.samples} samples per problem at temperature ${s.temperature}`
    : "greedy pass@1";
}

/** Machine description for reports. */
export function machineDescription(): string {
  const c = cpus();
  return `${osType()} ${process.arch}, ${c.length} × ${c[0]?.model ?? "unknown CPU"}, Node ${process.version}`;
}

// ───────────────────────────── `sage demo` ─────────────────────────────

export interface DemoCommandOptions {
  readonly quick?: boolean;
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
  const base = o.quick ? QUICK_PLAN : DEMO_PLAN;
  const steps = o.steps ?? base.steps;
  const evalEvery = o.evalEvery ?? Math.min(base.evalEvery, steps);
  if (evalEvery > steps) {
    throw new CliError("USAGE", `--eval-every (${evalEvery}) must be at most --steps (${steps})`);
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
      "USAGE",
      `--model-size must be one of ${Object.keys(MODEL_SIZES).join(", ")}; received ${JSON.stringify(o.modelSize)}`,
    );
  }
  const seed = o.seed ?? 0;
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
    const result = await runComparison(model, built.pairs, plan, {
      methods,
      seeds: [seed],
      runDir: join(outDir, "runs"),
      ctx,
      progress,
      log,
    });
    t = lap("dpo_and_eval", t);
    const target = targetFromBaseline(result.runs);
    const config = {
      command: `sage demo${o.quick ? " --quick" : ""}`,
      startPolicy: source,
      modelSize: size,
      parameters: parameterCount(model.config),
      seed,
      plan,
      pool: { pairs: built.pairs.length, ...built.stats },
      strata: result.strata.map((l) => `level ${l}`),
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
        title: `sage demo${o.quick ? " --quick" : ""}: SAGE vs uniform DPO on synthetic reasoning tasks`,
        adapter,
        machine: machineDescription(),
        config,
        runs: result.runs,
        target,
        notes:
          `One seed per method (${seed}): a demonstration, not a test — see \`sage bench convergence\` for seeds and intervals. ` +
          `Strata are the synthetic levels ${result.strata.join(", ")} of ${plan.evalProblemsPerLevel} held-out problems each (${evalDescription(plan)}). ` +
          `Wall-clock is training time with scoring passes, evaluation excluded. Target = start + 90% of uniform's gain.`,
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

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
