import { gradeResponse, parseChainsQuestion, verifyChains, verifySynthetic } from "@sage/eval-math";
import type { PreferencePair } from "./data.js";
import { describeValue, TrainerError } from "./errors.js";
import { sha256 } from "./hash.js";
import { Rng } from "./rng.js";

/** A problem to sample answers for: the prompt text and the reference answer. */
export interface Problem {
  readonly id: string;
  readonly prompt: string;
  readonly answer: string;
  readonly level?: number;
}

/**
 * Is `response` a correct answer to `problem`, whose reference answer is `answer`? Graders that
 * only need the answer may ignore the third argument.
 */
export type Grader = (response: string, answer: string, problem: Problem) => boolean;

/**
 * The work-checking grader of on-policy pairs for the synthetic task families of
 * `@sage/eval-math`: a response is correct only when its boxed answer is right AND its work is.
 * When the problem's prompt holds a chain question (`generateChains`, and the synthetic word
 * problems written in the same sentences), the work must be exactly the chain's: one `a op b=c`
 * line per step starting from the running value (`verifyChains`), so a miscopied intermediate or
 * a swapped operator fails even when every line is arithmetically true. Otherwise (algebra,
 * distractors, ×/÷) every `a op b=c` line must be arithmetically right and there must be at least
 * one (`verifySynthetic`'s `stepsValid`). A right answer reached through wrong work is therefore
 * never a chosen answer — DPO must not raise the likelihood of wrong reasoning.
 */
export function workCheckedGrade(
  response: string,
  answer: string,
  problem?: Pick<Problem, "prompt">,
): boolean {
  const chain = problem ? parseChainsQuestion(problem.prompt) : null;
  if (chain) {
    const v = verifyChains({ answer, ...chain }, response);
    return v.correct && v.workValid;
  }
  const v = verifySynthetic({ answer }, response);
  return v.correct && v.stepsValid;
}

/** One response per prompt for sample index `sample` (0..n−1); must be deterministic in (prompts, sample). */
export type SampleResponses = (prompts: readonly string[], sample: number) => Promise<string[]>;

export interface BuildPairsOptions {
  readonly problems: readonly Problem[];
  readonly sample: SampleResponses;
  /** Samples per prompt (≥ 2). */
  readonly n: number;
  /**
   * Is `response` a correct answer to `problem` (reference answer `answer`)? Default:
   * `@sage/eval-math`'s `gradeResponse`; `workCheckedGrade` also checks the work.
   */
  readonly grade?: Grader;
  /** At most this many (correct, incorrect) pairs per prompt, drawn at random (default 4). */
  readonly maxPairsPerPrompt?: number;
  /** Seeds which pairs are drawn (default 0). */
  readonly seed?: number;
  /** Prompts per `sample` call (default 16). */
  readonly batchSize?: number;
  /** Called after each `sample` call with (calls done, calls in total). */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface BuildPairsResult {
  readonly pairs: PreferencePair[];
  /** Pass rate per problem id (correct samples ÷ n). */
  readonly passRates: Readonly<Record<string, number>>;
  readonly stats: {
    readonly problems: number;
    readonly samples: number;
    readonly meanPassRate: number;
    /** Problems that gave at least one pair. */
    readonly withPairs: number;
    /** Problems with every sample correct / every sample wrong (no pair possible). */
    readonly allCorrect: number;
    readonly allWrong: number;
  };
}

/**
 * On-policy preference pairs: sample `n` responses per prompt, grade them, pair correct with
 * incorrect answers (distinct texts only), record `difficulty = 1 − pass rate`. Pair ids are
 * `<problem id>#<k>`; the pair's prompt is the prompt text that was sampled from.
 */
export async function buildOnPolicyPairs(options: BuildPairsOptions): Promise<BuildPairsResult> {
  const { problems, n } = options;
  const maxPairs = options.maxPairsPerPrompt ?? 4;
  const batchSize = options.batchSize ?? 16;
  if (!Number.isInteger(n) || n < 2) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `n (samples per prompt) must be an integer ≥ 2; received ${describeValue(n)}`,
    );
  }
  if (!Number.isInteger(maxPairs) || maxPairs < 1) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `maxPairsPerPrompt must be an integer ≥ 1; received ${describeValue(maxPairs)}`,
    );
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `batchSize must be an integer ≥ 1; received ${describeValue(batchSize)}`,
    );
  }
  if (problems.length === 0) throw new TrainerError("DATA_EMPTY", "no problems to sample");
  const grade: Grader =
    options.grade ?? ((response: string, answer: string) => gradeResponse(response, answer).correct);
  const responses: string[][] = problems.map(() => []);
  const chunks = Math.ceil(problems.length / batchSize);
  const total = chunks * n;
  let done = 0;
  for (let s = 0; s < problems.length; s += batchSize) {
    const chunk = problems.slice(s, s + batchSize);
    for (let j = 0; j < n; j++) {
      const out = await options.sample(
        chunk.map((p) => p.prompt),
        j,
      );
      if (!Array.isArray(out) || out.length !== chunk.length || out.some((r) => typeof r !== "string")) {
        throw new TrainerError(
          "POLICY_INVALID",
          `sample() must return one string per prompt (${chunk.length}); received ${describeValue(out)}`,
        );
      }
      out.forEach((r, i) => {
        responses[s + i]!.push(r);
      });
      options.onProgress?.(++done, total);
    }
  }
  const pairs: PreferencePair[] = [];
  const passRates: Record<string, number> = {};
  let allCorrect = 0;
  let allWrong = 0;
  let withPairs = 0;
  let rateSum = 0;
  problems.forEach((problem, pi) => {
    const correct: string[] = [];
    const wrong: string[] = [];
    for (const r of responses[pi]!) (grade(r, problem.answer, problem) ? correct : wrong).push(r);
    const rate = correct.length / n;
    passRates[problem.id] = rate;
    rateSum += rate;
    if (wrong.length === 0) allCorrect++;
    if (correct.length === 0) allWrong++;
    const c = [...new Set(correct)];
    const w = [...new Set(wrong)];
    const combos: [string, string][] = [];
    for (const a of c) for (const b of w) combos.push([a, b]);
    if (combos.length === 0) return;
    withPairs++;
    const rng = new Rng((options.seed ?? 0) ^ Number.parseInt(sha256(problem.id).slice(0, 8), 16));
    rng.shuffle(combos);
    combos.slice(0, maxPairs).forEach(([chosen, rejected], k) => {
      pairs.push({
        id: `${problem.id}#${k}`,
        prompt: problem.prompt,
        chosen,
        rejected,
        difficulty: 1 - rate,
        ...(problem.level !== undefined ? { level: problem.level } : {}),
      });
    });
  });
  return {
    pairs,
    passRates,
    stats: {
      problems: problems.length,
      samples: problems.length * n,
      meanPassRate: rateSum / problems.length,
      withPairs,
      allCorrect,
      allWrong,
    },
  };
}

/**
 * pass@1 on held-out problems, overall and per stratum (`level`), as metric names for the
 * `evaluate` hook of `runDpo`: `eval/pass@1`, `eval/pass@1/level_<n>`, `eval/problems`,
 * `eval/samples`. With `samples = 1` (default) and a greedy sampler it is greedy accuracy; with
 * `samples = k > 1` and a temperature sampler it is the mean correctness of k samples per problem —
 * the unbiased pass@1 estimate at that temperature, whose variance falls with k. Grading defaults
 * to `@sage/eval-math`'s `gradeResponse`.
 */
export async function evaluatePassAt1(
  problems: readonly Problem[],
  sample: SampleResponses,
  options: {
    readonly grade?: Grader;
    readonly batchSize?: number;
    /** Draws per problem (sample indices 0..k−1 of `sample`); default 1. */
    readonly samples?: number;
  } = {},
): Promise<Record<string, number>> {
  if (problems.length === 0) throw new TrainerError("DATA_EMPTY", "no evaluation problems");
  const grade: Grader =
    options.grade ?? ((response: string, answer: string) => gradeResponse(response, answer).correct);
  const batchSize = options.batchSize ?? 16;
  const k = options.samples ?? 1;
  if (!Number.isInteger(k) || k < 1) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `samples (draws per evaluation problem) must be an integer ≥ 1; received ${describeValue(k)}`,
    );
  }
  const byStratum = new Map<string, { n: number; correct: number }>();
  let correct = 0;
  for (let s = 0; s < problems.length; s += batchSize) {
    const chunk = problems.slice(s, s + batchSize);
    for (let j = 0; j < k; j++) {
      const out = await sample(
        chunk.map((p) => p.prompt),
        j,
      );
      chunk.forEach((p, i) => {
        const ok = grade(out[i] ?? "", p.answer, p);
        if (ok) correct++;
        if (p.level !== undefined) {
          const key = `eval/pass@1/level_${p.level}`;
          const g = byStratum.get(key) ?? { n: 0, correct: 0 };
          g.n++;
          if (ok) g.correct++;
          byStratum.set(key, g);
        }
      });
    }
  }
  const result: Record<string, number> = {
    "eval/pass@1": correct / (problems.length * k),
    "eval/problems": problems.length,
    "eval/samples": k,
  };
  for (const [key, g] of [...byStratum.entries()].sort(([a], [b]) => a.localeCompare(b)))
    result[key] = g.correct / g.n;
  return result;
}
