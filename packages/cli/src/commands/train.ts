import { basename, join } from "node:path";
import type { CurriculumConfigInput, SelectorName } from "@sage/curriculum";
import { createContext, formatAdapter } from "@sage/kernels-webgpu";
import { loadModelDir, Policy, saveModelDir } from "@sage/model";
import {
  CHAT_TEMPLATES,
  curriculumSelector,
  type DpoTrainConfigInput,
  evaluatePassAt1,
  exitCodeForSignal,
  type RunDpoResult,
  readPreferencePairs,
  readProblems,
  runDpo,
  WebGpuPolicy,
  webGpuSampler,
} from "@sage/trainer";
import { loadConfigFile } from "../config.js";
import { CliError } from "../errors.js";
import { type TrainConfig, trainConfigSchema } from "../schemas.js";
import { stripUndefined } from "../strip.js";

export interface TrainCommandOptions {
  readonly pairs: string;
  readonly model: string;
  readonly runDir: string;
  readonly config?: string;
  readonly selector?: string;
  readonly steps?: number;
  readonly seed?: number;
  readonly resume?: boolean;
  readonly refCache?: string;
  readonly skipInvalid?: boolean;
  readonly saveModel?: string;
  readonly progress?: boolean;
  readonly evalProblems?: string;
  readonly evalEvery?: number;
}

export interface TrainCommandResult {
  readonly result: RunDpoResult;
  readonly adapter: string;
  readonly skippedLines: number;
  readonly exitCode: number;
}

/**
 * `sage train`: DPO with a selector on the WebGPU policy of `@sage/model`. Loads an HF model folder
 * (config.json, *.safetensors, tokenizer.json) as both the starting policy and the reference,
 * reads TRL-format pairs, runs `runDpo` with checkpoints under `--run-dir`, and optionally saves the
 * trained model as an HF folder.
 */
export async function trainCommand(
  o: TrainCommandOptions,
  log: (line: string) => void,
): Promise<TrainCommandResult> {
  const file: TrainConfig = o.config ? await loadConfigFile(o.config, trainConfigSchema) : {};
  const template = CHAT_TEMPLATES[file.chatTemplate ?? "chatml"];
  const { pairs, invalid } = await readPreferencePairs(o.pairs, {
    template,
    ...(o.skipInvalid ? { skipInvalid: true } : {}),
  });
  for (const bad of invalid.slice(0, 5)) log(`skipped ${bad.message}`);
  if (invalid.length > 0) log(`skipped ${invalid.length} invalid line(s) of ${basename(o.pairs)}`);
  if (pairs.length === 0) throw new CliError("INPUT_INVALID", `${basename(o.pairs)}: no valid pairs`);

  let model: ReturnType<typeof loadModelDir>;
  try {
    model = loadModelDir(o.model);
  } catch (error) {
    throw new CliError("INPUT_INVALID", `--model ${o.model}: ${(error as Error).message}`, { cause: error });
  }
  if (!model.tokenizer) {
    throw new CliError("INPUT_INVALID", `--model ${o.model}: expected a tokenizer.json in the model folder`);
  }
  const steps = o.steps ?? file.train?.steps;
  if (steps === undefined)
    throw new CliError("USAGE", "give the number of steps: --steps <n> or train.steps in --config");
  const train = {
    ...stripUndefined(file.train ?? {}),
    steps,
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
  } as DpoTrainConfigInput;
  const selectorName = (o.selector ?? file.selector ?? "sage") as SelectorName;
  const evalEvery = o.evalEvery ?? file.train?.evalEvery ?? 0;
  if (o.evalProblems && evalEvery === 0) {
    throw new CliError("USAGE", "--eval-problems needs --eval-every <n> (or train.evalEvery in --config)");
  }
  if (evalEvery > 0 && !o.evalProblems) {
    throw new CliError("USAGE", "evaluation every n steps needs --eval-problems <file>");
  }
  if (o.evalEvery !== undefined) (train as { evalEvery?: number }).evalEvery = o.evalEvery;
  const evalProblems = o.evalProblems ? await readProblems(o.evalProblems) : undefined;
  const ctx = await createContext({ label: "sage-train" });
  const adapter = ctx.report ? formatAdapter(ctx.report) : "unknown adapter";
  log(`adapter: ${adapter}`);
  let policy: Policy | undefined;
  let gpu: WebGpuPolicy | undefined;
  try {
    policy = Policy.create(ctx, model.config, model.weights);
    gpu = new WebGpuPolicy({ policy, tokenizer: model.tokenizer, ...stripUndefined(file.optimizer ?? {}) });
    const trained = policy;
    const tokenizer = model.tokenizer;
    const result = await runDpo({
      config: train,
      ...(evalProblems
        ? {
            evaluate: () =>
              evaluatePassAt1(
                evalProblems,
                webGpuSampler(trained, tokenizer, {
                  ...(file.eval?.maxNewTokens !== undefined ? { maxNewTokens: file.eval.maxNewTokens } : {}),
                  temperature: 0,
                }),
                { batchSize: file.eval?.batchSize ?? 16 },
              ),
          }
        : {}),
      policy: gpu,
      selector: curriculumSelector(
        selectorName,
        stripUndefined(file.curriculum ?? {}) as CurriculumConfigInput,
      ),
      pairs,
      runDir: o.runDir,
      refCacheDir: o.refCache ?? join(o.runDir, "ref-cache"),
      resume: o.resume ?? false,
      progress: o.progress ?? true,
      log,
    });
    if (o.saveModel && result.status === "completed") {
      saveModelDir(o.saveModel, model.config, await policy.readWeights(), { tokenizer: model.tokenizer });
    }
    const exitCode = result.signal ? exitCodeForSignal(result.signal) : result.status === "nonfinite" ? 1 : 0;
    return { result, adapter, skippedLines: invalid.length, exitCode };
  } finally {
    gpu?.destroy();
    policy?.destroy();
    ctx.destroy();
  }
}
