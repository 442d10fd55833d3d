import { basename, join } from "node:path";
import {
  type CurriculumConfigInput,
  CurriculumError,
  resolveCurriculumConfig,
  SELECTOR_NAMES,
  type SelectorName,
} from "@sage/curriculum";
import { type Policy, saveModelDir } from "@sage/model";
import {
  CHAT_TEMPLATES,
  curriculumSelector,
  type DpoTrainConfigInput,
  evaluatePassAt1,
  type Problem,
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
import { loadModelWithTokenizer, loopConfigInput, type TokenizedModel, trainOnGpu } from "./shared.js";

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
  /** Also sampled pass@1: the mean of k answers per problem at `evalTemperature` (default 1). */
  readonly evalSamples?: number;
  readonly evalTemperature?: number;
  /** Save the model as an HF folder at every evaluation (`<run-dir>/models/step-<n>`). */
  readonly saveEvalModels?: boolean;
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
    throw new CliError(
      "USAGE_INVALID",
      "--eval-problems needs --eval-every <n> (or train.evalEvery in --config)",
    );
  }
  if (evalEvery > 0 && !o.evalProblems) {
    throw new CliError("USAGE_INVALID", "evaluation every n steps needs --eval-problems <file>");
  }
  const evalSamples = o.evalSamples ?? file.eval?.samples;
  const evalTemperature = o.evalTemperature ?? file.eval?.temperature ?? 1;
  const saveEvalModels = o.saveEvalModels ?? file.eval?.saveModels ?? false;
  if (!o.evalProblems) {
    const flag =
      o.evalSamples !== undefined
        ? "--eval-samples"
        : o.evalTemperature !== undefined
          ? "--eval-temperature"
          : o.saveEvalModels
            ? "--save-eval-models"
            : undefined;
    if (flag)
      throw new CliError("USAGE_INVALID", `${flag} needs --eval-problems <file> and --eval-every <n>`);
  }
  if (!(evalTemperature >= 0 && Number.isFinite(evalTemperature))) {
    throw new CliError(
      "USAGE_INVALID",
      `--eval-temperature must be a finite number ≥ 0; received ${JSON.stringify(evalTemperature)}`,
    );
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
    (gpu, trained) =>
      runDpo({
        config: train,
        ...(evalProblems
          ? {
              evaluate: ({ step }: { step: number }) =>
                evaluateAtStep({
                  step,
                  problems: evalProblems,
                  policy: trained,
                  model,
                  maxNewTokens: file.eval?.maxNewTokens,
                  batchSize: file.eval?.batchSize ?? 16,
                  sampled:
                    evalSamples !== undefined
                      ? { samples: evalSamples, temperature: evalTemperature, seed: train.seed ?? 0 }
                      : undefined,
                  saveModelsIn: saveEvalModels ? join(o.runDir, "models") : undefined,
                  log,
                }),
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
      }),
  );
  return { result: r.result, adapter: r.adapter, skippedLines: invalid.length, exitCode: r.exitCode };
}

/**
 * One evaluation of `sage train`: greedy pass@1 (`eval/pass@1`, `eval/pass@1/level_<n>`) and, with
 * `sampled`, the mean correctness of `samples` answers per problem at `temperature`
 * (`eval/sampled/pass@1`, `eval/sampled/pass@1/level_<n>`, `eval/sampled/samples`,
 * `eval/sampled/temperature`), drawn with the same seed at every step so steps differ only by the
 * model. With `saveModelsIn`, the model at this step is saved as an HF folder `<dir>/step-<step>`.
 */
export async function evaluateAtStep(o: {
  readonly step: number;
  readonly problems: readonly Problem[];
  readonly policy: Policy;
  readonly model: TokenizedModel;
  readonly maxNewTokens: number | undefined;
  readonly batchSize: number;
  readonly sampled:
    | { readonly samples: number; readonly temperature: number; readonly seed: number }
    | undefined;
  readonly saveModelsIn: string | undefined;
  readonly log: (line: string) => void;
}): Promise<Record<string, number>> {
  const tokens = o.maxNewTokens !== undefined ? { maxNewTokens: o.maxNewTokens } : {};
  const out: Record<string, number> = await evaluatePassAt1(
    o.problems,
    webGpuSampler(o.policy, o.model.tokenizer, { ...tokens, temperature: 0 }),
    { batchSize: o.batchSize },
  );
  if (o.sampled) {
    const s = await evaluatePassAt1(
      o.problems,
      webGpuSampler(o.policy, o.model.tokenizer, {
        ...tokens,
        temperature: o.sampled.temperature,
        seed: o.sampled.seed,
      }),
      { batchSize: o.batchSize, samples: o.sampled.samples },
    );
    for (const [key, value] of Object.entries(s)) {
      if (key.startsWith("eval/pass@1") || key === "eval/samples")
        out[key.replace(/^eval\//, "eval/sampled/")] = value;
    }
    out["eval/sampled/temperature"] = o.sampled.temperature;
  }
  if (o.saveModelsIn) {
    const dir = join(o.saveModelsIn, `step-${o.step}`);
    saveModelDir(dir, o.model.config, await o.policy.readWeights(), { tokenizer: o.model.tokenizer });
    o.log(`saved the model at step ${o.step} → ${dir}`);
  }
  return out;
}

/** A selector name from `--selector` or the config, checked against `@sage/curriculum`'s list. */
function checkedSelectorName(name: string, fromFlag: boolean): SelectorName {
  if (!(SELECTOR_NAMES as readonly string[]).includes(name)) {
    throw new CliError(
      fromFlag ? "USAGE_INVALID" : "CONFIG_INVALID",
      `${fromFlag ? "--selector" : 'config field "selector"'}: expected one of ${SELECTOR_NAMES.join(", ")}; received ${JSON.stringify(name)}`,
    );
  }
  return name as SelectorName;
}
