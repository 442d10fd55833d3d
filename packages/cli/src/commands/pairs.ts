import { basename } from "node:path";
import { gradeResponse, parseChainsQuestion } from "@sage/eval-math";
import { Policy } from "@sage/model";
import {
  atomicWriteJson,
  type BuildPairsResult,
  buildOnPolicyPairs,
  CHAT_TEMPLATES,
  createProgress,
  type Grader,
  type Problem,
  readProblems,
  type SampleResponses,
  webGpuSampler,
  workCheckedGrade,
  writePreferencePairs,
} from "@sage/trainer";
import { loadConfigFile } from "../config.js";
import { CliError } from "../errors.js";
import { type PairsConfig, pairsConfigSchema } from "../schemas.js";
import { loadModelWithTokenizer, openGpuContext } from "./shared.js";

export interface PairsCommandOptions {
  readonly problems: string;
  readonly model: string;
  readonly out: string;
  readonly config?: string;
  readonly n?: number;
  /** auto (default), work or answer: see {@link pairGrader}. */
  readonly grader?: string;
  readonly maxNewTokens?: number;
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  readonly seed?: number;
  readonly maxPairsPerPrompt?: number;
  readonly batchSize?: number;
  readonly chatTemplate?: string;
  readonly progress?: boolean;
}

/**
 * `sage pairs`: on-policy preference pairs. For each problem, sample `n` answers from the model
 * (WebGPU), grade them with `@sage/eval-math`, pair correct with incorrect answers, and write TRL
 * JSONL with `difficulty = 1 − pass rate`; `<out>.stats.json` holds the pass rates.
 */
export async function pairsCommand(
  o: PairsCommandOptions,
  log: (line: string) => void,
): Promise<{ result: BuildPairsResult; adapter: string }> {
  const file: PairsConfig = o.config ? await loadConfigFile(o.config, pairsConfigSchema) : {};
  const pick = <T>(flag: T | undefined, fromFile: T | undefined, fallback: T): T =>
    flag ?? fromFile ?? fallback;
  const n = pick(o.n, file.n, 8);
  const graderName = pick(o.grader, file.grader, "auto");
  if (!(GRADER_NAMES as readonly string[]).includes(graderName)) {
    throw new CliError(
      "USAGE_INVALID",
      `--grader must be one of ${GRADER_NAMES.join(", ")}; received ${JSON.stringify(graderName)}`,
    );
  }
  const chatTemplate = pick(o.chatTemplate, file.chatTemplate, "none");
  if (chatTemplate !== "none" && !(chatTemplate in CHAT_TEMPLATES)) {
    throw new CliError(
      "USAGE_INVALID",
      `--chat-template must be none, chatml or plain; received ${JSON.stringify(chatTemplate)}`,
    );
  }
  let problems: Problem[] = await readProblems(o.problems);
  if (problems.length === 0) throw new CliError("INPUT_INVALID", `${basename(o.problems)}: no problems`);
  if (chatTemplate !== "none") {
    const template = CHAT_TEMPLATES[chatTemplate as keyof typeof CHAT_TEMPLATES];
    problems = problems.map((p) => ({
      ...p,
      prompt: template([{ role: "user", content: p.prompt }], { addGenerationPrompt: true }),
    }));
  }
  const model = loadModelWithTokenizer(o.model);
  const { ctx, adapter } = await openGpuContext("sage-pairs", log);
  const policy = Policy.create(ctx, model.config, model.weights, { trainable: false });
  const batchSize = pick(o.batchSize, file.batchSize, 16);
  const progress =
    (o.progress ?? true)
      ? createProgress({ total: Math.ceil(problems.length / batchSize) * n, label: "sampling" })
      : undefined;
  try {
    const topK = o.topK ?? file.topK;
    const maxNewTokens = o.maxNewTokens ?? file.maxNewTokens;
    const topP = o.topP ?? file.topP;
    const sample = webGpuSampler(policy, model.tokenizer, {
      ...(maxNewTokens !== undefined ? { maxNewTokens } : {}),
      temperature: pick(o.temperature, file.temperature, n === 1 ? 0 : 1),
      seed: pick(o.seed, file.seed, 0),
      ...(topK !== undefined ? { topK } : {}),
      ...(topP !== undefined ? { topP } : {}),
    });
    const grade = pairGrader(graderName as GraderName);
    const onProgress = progress ? { onProgress: (done: number) => progress.update(done) } : {};
    const result =
      n === 1
        ? await gradeOneAnswerEach({ problems, sample, grade, batchSize, ...onProgress })
        : await buildOnPolicyPairs({
            problems,
            n,
            batchSize,
            maxPairsPerPrompt: pick(o.maxPairsPerPrompt, file.maxPairsPerPrompt, 4),
            seed: pick(o.seed, file.seed, 0),
            grade,
            sample,
            ...onProgress,
          });
    if (n === 1) log("--n 1: one answer per problem graded (pass rates in the .stats.json); no pairs");
    await writePreferencePairs(o.out, result.pairs);
    await atomicWriteJson(`${o.out}.stats.json`, { stats: result.stats, passRates: result.passRates });
    return { result, adapter };
  } finally {
    progress?.stop();
    policy.destroy();
    ctx.destroy();
  }
}

/** Graders of `sage pairs --grader`. */
export const GRADER_NAMES = ["auto", "work", "answer"] as const;
export type GraderName = (typeof GRADER_NAMES)[number];

/**
 * The grader of `sage pairs --grader <name>`:
 * - `work`: `workCheckedGrade` — the boxed answer AND the work must be right (a chain question's
 *   work must be exactly its chain; other synthetic problems need every `a op b=c` line right);
 * - `answer`: `@sage/eval-math`'s `gradeResponse` — the final answer only;
 * - `auto` (default): `work` for problems whose prompt holds a chain question (`generateChains`
 *   and the level-1/2 synthetic word problems, `parseChainsQuestion`), `answer` otherwise — a right
 *   answer reached through wrong steps never becomes a chosen answer where the work can be checked,
 *   and problems from elsewhere (GSM8K, MATH, …) are graded as before.
 */
export function pairGrader(name: GraderName): Grader {
  const answerOnly: Grader = (response, answer) => gradeResponse(response, answer).correct;
  if (name === "work") return workCheckedGrade;
  if (name === "answer") return answerOnly;
  return (response, answer, problem) =>
    parseChainsQuestion(problem.prompt)
      ? workCheckedGrade(response, answer, problem)
      : answerOnly(response, answer, problem);
}

/**
 * `--n 1`: one answer per problem (greedy unless a temperature is given), graded; the result has
 * no pairs and each problem's pass rate is 0 or 1, so `meanPassRate` is greedy pass@1.
 */
export async function gradeOneAnswerEach(o: {
  readonly problems: readonly Problem[];
  readonly sample: SampleResponses;
  readonly grade: Grader;
  readonly batchSize: number;
  readonly onProgress?: (done: number) => void;
}): Promise<BuildPairsResult> {
  const passRates: Record<string, number> = {};
  let correct = 0;
  let done = 0;
  for (let s = 0; s < o.problems.length; s += o.batchSize) {
    const chunk = o.problems.slice(s, s + o.batchSize);
    const out = await o.sample(
      chunk.map((p) => p.prompt),
      0,
    );
    chunk.forEach((p, i) => {
      const ok = o.grade(out[i] ?? "", p.answer, p);
      passRates[p.id] = ok ? 1 : 0;
      if (ok) correct++;
    });
    o.onProgress?.(++done);
  }
  const problems = o.problems.length;
  return {
    pairs: [],
    passRates,
    stats: {
      problems,
      samples: problems,
      meanPassRate: correct / problems,
      withPairs: 0,
      allCorrect: correct,
      allWrong: problems - correct,
    },
  };
}
