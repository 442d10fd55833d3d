import { basename } from "node:path";
import { createContext, formatAdapter } from "@sage/kernels-webgpu";
import { loadModelDir, Policy, saveModelDir } from "@sage/model";
import {
  CHAT_TEMPLATES,
  exitCodeForSignal,
  type RunSftResult,
  readSftExamples,
  runSft,
  type SftConfigInput,
  WebGpuPolicy,
} from "@sage/trainer";
import { loadConfigFile } from "../config.js";
import { CliError } from "../errors.js";
import { type SftFileConfig, sftFileConfigSchema } from "../schemas.js";
import { stripUndefined } from "../strip.js";

export interface SftCommandOptions {
  readonly data: string;
  readonly model: string;
  readonly runDir: string;
  readonly config?: string;
  readonly steps?: number;
  readonly seed?: number;
  readonly resume?: boolean;
  readonly saveModel?: string;
  readonly progress?: boolean;
}

/**
 * `sage sft`: supervised fine-tuning on completions (`runSft`) of an HF model folder on WebGPU,
 * with checkpoints and resume; `--save-model` writes the result as an HF folder (the start
 * policy and reference for `sage pairs` / `sage train`).
 */
export async function sftCommand(
  o: SftCommandOptions,
  log: (line: string) => void,
): Promise<{ result: RunSftResult; adapter: string; exitCode: number }> {
  const file: SftFileConfig = o.config ? await loadConfigFile(o.config, sftFileConfigSchema) : {};
  const examples = await readSftExamples(o.data, CHAT_TEMPLATES[file.chatTemplate ?? "chatml"]);
  if (examples.length === 0) throw new CliError("INPUT_INVALID", `${basename(o.data)}: no examples`);
  const steps = o.steps ?? file.train?.steps;
  if (steps === undefined)
    throw new CliError("USAGE", "give the number of steps: --steps <n> or train.steps in --config");
  const config = {
    ...stripUndefined(file.train ?? {}),
    steps,
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
  } as SftConfigInput;
  let model: ReturnType<typeof loadModelDir>;
  try {
    model = loadModelDir(o.model);
  } catch (error) {
    throw new CliError("INPUT_INVALID", `--model ${o.model}: ${(error as Error).message}`, { cause: error });
  }
  if (!model.tokenizer)
    throw new CliError("INPUT_INVALID", `--model ${o.model}: expected a tokenizer.json in the model folder`);
  const ctx = await createContext({ label: "sage-sft" });
  const adapter = ctx.report ? formatAdapter(ctx.report) : "unknown adapter";
  log(`adapter: ${adapter}`);
  let policy: Policy | undefined;
  let gpu: WebGpuPolicy | undefined;
  try {
    policy = Policy.create(ctx, model.config, model.weights);
    gpu = new WebGpuPolicy({ policy, tokenizer: model.tokenizer, ...stripUndefined(file.optimizer ?? {}) });
    const result = await runSft({
      config,
      policy: gpu,
      examples,
      runDir: o.runDir,
      resume: o.resume ?? false,
      progress: o.progress ?? true,
      log,
    });
    if (o.saveModel && result.status === "completed") {
      saveModelDir(o.saveModel, model.config, await policy.readWeights(), { tokenizer: model.tokenizer });
    }
    const exitCode = result.signal ? exitCodeForSignal(result.signal) : result.status === "nonfinite" ? 1 : 0;
    return { result, adapter, exitCode };
  } finally {
    gpu?.destroy();
    policy?.destroy();
    ctx.destroy();
  }
}
