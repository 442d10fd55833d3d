import { basename } from "node:path";
import {
  CHAT_TEMPLATES,
  type RunSftResult,
  readSftExamples,
  runSft,
  type SftConfigInput,
} from "@sage/trainer";
import { loadConfigFile } from "../config.js";
import { CliError } from "../errors.js";
import { type SftFileConfig, sftFileConfigSchema } from "../schemas.js";
import { loadModelWithTokenizer, loopConfigInput, trainOnGpu } from "./shared.js";

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
  const config = loopConfigInput(file.train, o.steps, o.seed) as SftConfigInput; // usage errors first
  const examples = await readSftExamples(o.data, CHAT_TEMPLATES[file.chatTemplate ?? "chatml"]);
  if (examples.length === 0) throw new CliError("INPUT_INVALID", `${basename(o.data)}: no examples`);
  const model = loadModelWithTokenizer(o.model);
  return trainOnGpu(
    { label: "sage-sft", model, optimizer: file.optimizer, saveModel: o.saveModel, log },
    (gpu) =>
      runSft({
        config,
        policy: gpu,
        examples,
        runDir: o.runDir,
        resume: o.resume ?? false,
        progress: o.progress ?? true,
        log,
      }),
  );
}
