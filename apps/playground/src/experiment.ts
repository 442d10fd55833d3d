import type { SelectorName } from "@sage/curriculum";
import { verifySynthetic } from "@sage/eval-math";
import type { GpuContext } from "@sage/kernels-webgpu";
import { type LoadedModel, Policy, type Tokenizer } from "@sage/model";
import {
  type BuildPairsResult,
  buildOnPolicyPairs,
  curriculumSelector,
  evaluatePassAt1,
  type PreferencePair,
  type Problem,
  SYNTHETIC_SEEDS,
  syntheticProblems,
  WebGpuPolicy,
  webGpuSampler,
} from "@sage/trainer";
import { runBrowserDpo, type StepRecord } from "./dpo-loop.js";
import { PlaygroundError } from "./errors.js";
import type { PlaygroundSettings } from "./settings.js";

/** pass@1 grader: the last `\boxed{}` is the integer answer. */
export function gradeAnswer(response: string, answer: string): boolean {
  return verifySynthetic({ answer }, response).correct;
}

/** Pair grader (as `sage demo`): right answer AND every `a op b=c` line right; a lucky guess is never "chosen". */
export function gradePairAnswer(response: string, answer: string): boolean {
  const v = verifySynthetic({ answer }, response);
  return v.correct && v.stepsValid;
}

export interface SampledSolution {
  readonly prompt: string;
  readonly answer: string;
  readonly response: string;
  readonly correct: boolean;
}

export interface SelectorRun {
  readonly selector: SelectorName;
  /** pass@1 after step 0 (the shared start) and every `evalEvery` steps. */
  readonly passAt1: { step: number; value: number; byLevel: Record<string, number> }[];
  readonly steps: StepRecord[];
  /** The scored candidate pool after each refresh (empty for `uniform`). */
  readonly pools: PoolSnapshot[];
  readonly after: SampledSolution[];
}

export interface PlaygroundResult {
  readonly settings: PlaygroundSettings;
  readonly pool: { readonly pairs: number; readonly problems: number; readonly passRate: number };
  readonly before: SampledSolution[];
  readonly runs: SelectorRun[];
}

/** The candidate pool of a refresh: SAGE (or baseline) score and class of each pair. */
export interface PoolSnapshot {
  readonly step: number;
  readonly scores: readonly number[];
  /** 0 eligible, 1 trivial (already learned), 2 unstable (margin sign flips under perturbation). */
  readonly classes: readonly number[];
}

/**
 * The pool of a `@sage/curriculum` pool selector, read from its JSON state (`data.pool`: `score`,
 * `cls`); undefined for selectors without scored pools.
 */
export function poolOf(state: unknown, step: number): PoolSnapshot | undefined {
  const pool = (state as { inner?: { data?: { pool?: { score?: unknown; cls?: unknown } | null } } } | null)
    ?.inner?.data?.pool;
  const { score, cls } = pool ?? {};
  if (!Array.isArray(score) || !Array.isArray(cls) || score.length !== cls.length) return undefined;
  if (!score.every((v) => typeof v === "number") || !cls.every((v) => typeof v === "number"))
    return undefined;
  return { step, scores: score as number[], classes: cls as number[] };
}

export interface PlaygroundEvents {
  onStatus?(text: string): void;
  onPairs?(result: BuildPairsResult): void;
  onEval?(
    selector: SelectorName | null,
    step: number,
    passAt1: number,
    byLevel: Record<string, number>,
  ): void;
  onStep?(selector: SelectorName, record: StepRecord): void;
  onSamples?(selector: SelectorName | null, samples: SampledSolution[]): void;
  /** After each refresh of a selector with a scored pool. */
  onPool?(selector: SelectorName, pool: PoolSnapshot): void;
}

/** Greedy answers of `policy` to `problems`, graded. */
async function solve(
  policy: Policy,
  tokenizer: Tokenizer,
  problems: readonly Problem[],
  maxNewTokens: number,
): Promise<SampledSolution[]> {
  const out = await webGpuSampler(policy, tokenizer, { maxNewTokens, temperature: 0 })(
    problems.map((p) => p.prompt),
    0,
  );
  return problems.map((p, i) => ({
    prompt: p.prompt,
    answer: p.answer,
    response: out[i] ?? "",
    correct: gradeAnswer(out[i] ?? "", p.answer),
  }));
}

/** Greedy pass@1 on `problems` (`evaluatePassAt1`'s record: `eval/pass@1`, `eval/pass@1/level_<L>`). */
function passAt1(
  policy: Policy,
  tokenizer: Tokenizer,
  problems: readonly Problem[],
  maxNewTokens: number,
): Promise<Record<string, number>> {
  return evaluatePassAt1(problems, webGpuSampler(policy, tokenizer, { maxNewTokens, temperature: 0 }), {
    grade: gradeAnswer,
    batchSize: 32,
  });
}

/** An evaluation record as pass@1 overall and by level. */
function splitEval(r: Readonly<Record<string, number>>): { value: number; byLevel: Record<string, number> } {
  const byLevel: Record<string, number> = {};
  for (const [k, v] of Object.entries(r)) if (k.startsWith("eval/pass@1/level_")) byLevel[k.slice(18)] = v;
  return { value: r["eval/pass@1"] ?? Number.NaN, byLevel };
}

/**
 * The playground's experiment: sample on-policy pairs from the start policy, then train DPO with
 * each selector in turn from the same start and pool, evaluating greedy pass@1 on held-out
 * problems. Everything runs on `ctx`'s device; nothing is written anywhere.
 */
export async function runPlayground(
  ctx: GpuContext,
  model: LoadedModel,
  settings: PlaygroundSettings,
  events: PlaygroundEvents = {},
): Promise<PlaygroundResult> {
  const tokenizer = model.tokenizer;
  if (!tokenizer)
    throw new PlaygroundError("RUN_INVALID", "expected a model with a tokenizer.json", undefined);
  // The synthetic task of `sage demo` (the shipped checkpoint's): pool and held-out splits never overlap.
  const pool = syntheticProblems(SYNTHETIC_SEEDS.pairs, settings.levels, settings.poolPerLevel);
  const held = syntheticProblems(SYNTHETIC_SEEDS.eval, settings.levels, settings.evalPerLevel);
  const shown = settings.levels.map((l) => held.find((p) => p.level === l)!).slice(0, 3);

  events.onStatus?.(`sampling ${settings.samples} answers to each of ${pool.length} problems`);
  const frozen = Policy.create(ctx, model.config, model.weights, { trainable: false });
  let built: BuildPairsResult;
  let before: SampledSolution[];
  let start: { value: number; byLevel: Record<string, number> };
  try {
    built = await buildOnPolicyPairs({
      problems: pool,
      n: settings.samples,
      batchSize: 64,
      maxPairsPerPrompt: 2,
      seed: settings.seed,
      grade: gradePairAnswer,
      sample: webGpuSampler(frozen, tokenizer, {
        maxNewTokens: settings.maxNewTokens,
        temperature: 1,
        seed: settings.seed,
      }),
    });
    events.onPairs?.(built);
    if (built.pairs.length === 0) {
      throw new PlaygroundError(
        "RUN_INVALID",
        "expected at least one (correct, wrong) pair from the start policy's samples: raise samples or poolPerLevel",
        0,
      );
    }
    events.onStatus?.("evaluating the start policy");
    start = splitEval(await passAt1(frozen, tokenizer, held, settings.maxNewTokens));
    events.onEval?.(null, 0, start.value, start.byLevel);
    before = await solve(frozen, tokenizer, shown, settings.maxNewTokens);
    events.onSamples?.(null, before);
  } finally {
    frozen.destroy();
  }

  const runs: SelectorRun[] = [];
  for (const name of settings.selectors) {
    events.onStatus?.(`training DPO with ${name}`);
    const policy = Policy.create(ctx, model.config, model.weights);
    const gpu = new WebGpuPolicy({ policy, tokenizer });
    try {
      const curve = [{ step: 0, ...start }];
      const selector = curriculumSelector(name, {
        refreshEvery: settings.refreshEvery,
        nStrata: settings.levels.length,
        levelMin: Math.min(...settings.levels),
        levelMax: Math.max(...settings.levels, Math.min(...settings.levels) + 1),
      });
      const pools: PoolSnapshot[] = [];
      let lastRefresh: number | undefined;
      const steps = await runBrowserDpo({
        config: {
          steps: settings.steps,
          batchSize: Math.min(settings.batchSize, built.pairs.length),
          learningRate: settings.learningRate,
          rpoAlpha: 1,
          seed: settings.seed,
          evalEvery: settings.evalEvery,
          scoringBatchSize: 32,
        },
        policy: gpu,
        selector,
        pairs: built.pairs as PreferencePair[],
        evaluate: () => passAt1(policy, tokenizer, held, settings.maxNewTokens),
        onStep: (r) => {
          events.onStep?.(name, r);
          const refresh = r["sage/refresh"];
          if (refresh !== undefined && refresh !== lastRefresh) {
            lastRefresh = refresh;
            const pool = poolOf(selector.getState(), r.step);
            if (pool) {
              pools.push(pool);
              events.onPool?.(name, pool);
            }
          }
        },
        onEval: (step, r) => {
          const e = splitEval(r);
          curve.push({ step, ...e });
          events.onEval?.(name, step, e.value, e.byLevel);
        },
      });
      const after = await solve(policy, tokenizer, shown, settings.maxNewTokens);
      events.onSamples?.(name, after);
      runs.push({ selector: name, passAt1: curve, steps, pools, after });
    } finally {
      gpu.destroy();
      policy.destroy();
    }
  }
  return {
    settings,
    pool: { pairs: built.pairs.length, problems: pool.length, passRate: built.stats.meanPassRate },
    before,
    runs,
  };
}
