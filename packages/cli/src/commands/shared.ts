import { createContext, formatAdapter, type GpuContext } from "@sage/kernels-webgpu";
import { type LoadedModel, loadModelDir, Policy, saveModelDir } from "@sage/model";
import { exitCodeForSignal, WebGpuPolicy, type WebGpuPolicyOptions } from "@sage/trainer";
import { CliError } from "../errors.js";
import { stripUndefined } from "../strip.js";

/** Helpers the model-running commands (`sage pairs`, `sage sft`, `sage train`) share. */

export type TokenizedModel = LoadedModel & Required<Pick<LoadedModel, "tokenizer">>;

/** An HF model folder that must hold a `tokenizer.json`; errors name `--model <dir>`. */
export function loadModelWithTokenizer(dir: string): TokenizedModel {
  let model: LoadedModel;
  try {
    model = loadModelDir(dir);
  } catch (error) {
    throw new CliError("INPUT_INVALID", `--model ${dir}: ${(error as Error).message}`, { cause: error });
  }
  if (!model.tokenizer)
    throw new CliError("INPUT_INVALID", `--model ${dir}: expected a tokenizer.json in the model folder`);
  return model as TokenizedModel;
}

/** A WebGPU context labelled `label` and a line naming its adapter, which is logged. */
export async function openGpuContext(
  label: string,
  log: (line: string) => void,
): Promise<{ ctx: GpuContext; adapter: string }> {
  const ctx = await createContext({ label });
  const adapter = ctx.report ? formatAdapter(ctx.report) : "unknown adapter";
  log(`adapter: ${adapter}`);
  return { ctx, adapter };
}

/**
 * A training loop's config input: the config file's `train` section with `steps` from `--steps`
 * (or `train.steps`, one of them required) and `seed` from `--seed` when given.
 */
export function loopConfigInput<T extends { readonly steps?: number | undefined }>(
  train: T | undefined,
  steps: number | undefined,
  seed: number | undefined,
): ReturnType<typeof stripUndefined<T>> & { steps: number; seed?: number } {
  const total = steps ?? train?.steps;
  if (total === undefined)
    throw new CliError("USAGE_INVALID", "give the number of steps: --steps <n> or train.steps in --config");
  return {
    ...stripUndefined(train ?? ({} as T)),
    steps: total,
    ...(seed !== undefined ? { seed } : {}),
  };
}

type OptimizerField = "beta1" | "beta2" | "eps" | "weightDecay";

/** What the training loops (`runSft`, `runDpo`) return that decides the exit code. */
interface LoopOutcome {
  readonly status: "completed" | "interrupted" | "nonfinite";
  readonly signal: NodeJS.Signals | undefined;
}

/**
 * Train `model` on a fresh WebGPU context (`label`): `train` gets the `WebGpuPolicy` (AdamW from
 * `optimizer`) and the underlying `Policy`; after a completed run the weights are saved to
 * `saveModel` as an HF folder. Exit code: the signal's, 1 when non-finite, else 0. The policies
 * and the context are destroyed whatever happens.
 */
export async function trainOnGpu<R extends LoopOutcome>(
  o: {
    readonly label: string;
    readonly model: TokenizedModel;
    readonly optimizer: { readonly [K in OptimizerField]?: WebGpuPolicyOptions[K] | undefined } | undefined;
    readonly saveModel: string | undefined;
    readonly log: (line: string) => void;
  },
  train: (gpu: WebGpuPolicy, policy: Policy) => Promise<R>,
): Promise<{ result: R; adapter: string; exitCode: number }> {
  const { model } = o;
  const { ctx, adapter } = await openGpuContext(o.label, o.log);
  let policy: Policy | undefined;
  let gpu: WebGpuPolicy | undefined;
  try {
    policy = Policy.create(ctx, model.config, model.weights);
    gpu = new WebGpuPolicy({ policy, tokenizer: model.tokenizer, ...stripUndefined(o.optimizer ?? {}) });
    const result = await train(gpu, policy);
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
