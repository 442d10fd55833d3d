import { basename, join } from "node:path";
import {
  type CurriculumConfigInput,
  CurriculumError,
  resolveCurriculumConfig,
  SELECTOR_NAMES,
  type SelectorName,
} from "@sage/curriculum";
import {
  CHAT_TEMPLATES,
  curriculumSelector,
  type DpoTrainConfigInput,
  evaluatePassAt1,
  parseDpoTrainConfig,
  type RunDpoResult,
  readPreferencePairs,
  readProblems,
  runDpo,
  webGpuSampler,
} from "@sage/trainer";
import { loadConfigFile } from "../config.js";
import { CliError } from "../errors.js";
import { type TrainConfig, trainConfigSchema } from "../schemas.js";
import { stripUndefined } from "../strip.js";
import { loadModelWithTokenizer, loopConfigInput, trainOnGpu } from "./shared.js";

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
  // usage errors first, before the data and the model are read
  const train = loopConfigInput(file.train, o.steps, o.seed) as DpoTrainConfigInput;
  const selectorName = checkedSelectorName(o.selector ?? file.selector ?? "sage", o.selector !== undefined);
  const curriculum = stripUndefined(file.curriculum ?? {}) as CurriculumConfigInput;
  // The whole configuration is resolved here, before any file is read or the GPU opens: a bad
  // selector setting or training field exits 2 at once, naming the field.
  try {
    resolveCurriculumConfig(curriculum);
  } catch (error) {
    if (error instanceof CurriculumError) {
      throw new CliError(
        "CONFIG_INVALID",
        `${o.config ? `${basename(o.config)}: ` : ""}curriculum: ${error.message}`,
      );
    }
    throw error;
  }
  parseDpoTrainConfig(train, o.config ? basename(o.config) : "train config");
  const evalEvery = o.evalEvery ?? file.train?.evalEvery ?? 0;
  if (o.evalProblems && evalEvery === 0) {
    throw new CliError("USAGE", "--eval-problems needs --eval-every <n> (or train.evalEvery in --config)");
  }
  if (evalEvery > 0 && !o.evalProblems) {
    throw new CliError("USAGE", "evaluation every n steps needs --eval-problems <file>");
  }
  const template = CHAT_TEMPLATES[file.chatTemplate ?? "chatml"];
  const { pairs, invalid } = await readPreferencePairs(o.pairs, {
    template,
    ...(o.skipInvalid ? { skipInvalid: true } : {}),
  });
  for (const bad of invalid.slice(0, 5)) log(`skipped ${bad.message}`);
  if (invalid.length > 0) log(`skipped ${invalid.length} invalid line(s) of ${basename(o.pairs)}`);
  if (pairs.length === 0) throw new CliError("INPUT_INVALID", `${basename(o.pairs)}: no valid pairs`);

  const model = loadModelWithTokenizer(o.model);
  if (o.evalEvery !== undefined) (train as { evalEvery?: number }).evalEvery = o.evalEvery;
  const evalProblems = o.evalProblems ? await readProblems(o.evalProblems) : undefined;
  const r = await trainOnGpu(
    { label: "sage-train", model, optimizer: file.optimizer, saveModel: o.saveModel, log },
    (gpu, trained) => {
      const tokenizer = model.tokenizer;
      return runDpo({
        config: train,
        ...(evalProblems
          ? {
              evaluate: () =>
                evaluatePassAt1(
                  evalProblems,
                  webGpuSampler(trained, tokenizer, {
                    ...(file.eval?.maxNewTokens !== undefined
                      ? { maxNewTokens: file.eval.maxNewTokens }
                      : {}),
                    temperature: 0,
                  }),
                  { batchSize: file.eval?.batchSize ?? 16 },
                ),
            }
          : {}),
        policy: gpu,
        selector: curriculumSelector(selectorName, curriculum),
        pairs,
        runDir: o.runDir,
        refCacheDir: o.refCache ?? join(o.runDir, "ref-cache"),
        resume: o.resume ?? false,
        progress: o.progress ?? true,
        log,
      });
    },
  );
  return { result: r.result, adapter: r.adapter, skippedLines: invalid.length, exitCode: r.exitCode };
}

/** A selector name from `--selector` or the config, checked against `@sage/curriculum`'s list. */
function checkedSelectorName(name: string, fromFlag: boolean): SelectorName {
  if (!(SELECTOR_NAMES as readonly string[]).includes(name)) {
    throw new CliError(
      fromFlag ? "USAGE" : "CONFIG_INVALID",
      `${fromFlag ? "--selector" : 'config field "selector"'}: expected one of ${SELECTOR_NAMES.join(", ")}; received ${JSON.stringify(name)}`,
    );
  }
  return name as SelectorName;
}
