import { basename } from "node:path";
import { Policy } from "@sage/model";
import {
  atomicWriteJson,
  type BuildPairsResult,
  buildOnPolicyPairs,
  CHAT_TEMPLATES,
  createProgress,
  type Problem,
  readProblems,
  webGpuSampler,
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
  const chatTemplate = pick(o.chatTemplate, file.chatTemplate, "none");
  if (chatTemplate !== "none" && !(chatTemplate in CHAT_TEMPLATES)) {
    throw new CliError(
      "USAGE",
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
    const result = await buildOnPolicyPairs({
      problems,
      n,
      batchSize,
      maxPairsPerPrompt: pick(o.maxPairsPerPrompt, file.maxPairsPerPrompt, 4),
      seed: pick(o.seed, file.seed, 0),
      sample: webGpuSampler(policy, model.tokenizer, {
        ...(maxNewTokens !== undefined ? { maxNewTokens } : {}),
        temperature: pick(o.temperature, file.temperature, 1),
        seed: pick(o.seed, file.seed, 0),
        ...(topK !== undefined ? { topK } : {}),
        ...(topP !== undefined ? { topP } : {}),
      }),
      ...(progress ? { onProgress: (done: number) => progress.update(done) } : {}),
    });
    await writePreferencePairs(o.out, result.pairs);
    await atomicWriteJson(`${o.out}.stats.json`, { stats: result.stats, passRates: result.passRates });
    return { result, adapter };
  } finally {
    progress?.stop();
    policy.destroy();
    ctx.destroy();
  }
}
