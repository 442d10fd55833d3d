import { basename } from "node:path";
import { z } from "zod";
import { type ChatMessage, type ChatTemplate, chatmlTemplate, renderCompletion } from "./chat-template.js";
import { jsonStateProvider } from "./checkpoint.js";
import { loopConfigFields, parseConfig } from "./config.js";
import { optimizerStep } from "./dpo-stages.js";
import { describeValue, TrainerError } from "./errors.js";
import { sha256 } from "./hash.js";
import { readJsonlLines } from "./jsonl.js";
import { checkResumeConfig, loopLog, openCheckpoints, policyStateProvider, runTrainingLoop } from "./loop.js";
import type { MetricsRecord } from "./metrics.js";
import type { LogProbGradient } from "./policy.js";
import type { Progress } from "./progress.js";
import { Rng, type RngState } from "./rng.js";
import type { StopController } from "./signals.js";

/** One supervised example: the loss is on `completion` tokens only. */
export interface SftExample {
  readonly id: string;
  readonly prompt: string;
  readonly completion: string;
}

/** What the SFT loop needs from a model (the WebGPU policy and the CPU test policy implement it). */
export interface SequencePolicyLike {
  /**
   * Forward + backward of Σ_i dLoss/dℓθ(completion_i) · ℓθ(completion_i | prompt_i), added into the
   * gradient buffers. `lossGradient` receives the sequence log-probs and completion token counts.
   */
  accumulateSequenceGradient(
    examples: readonly SftExample[],
    lossGradient: (logps: Float64Array, tokens: Uint32Array) => Float64Array,
  ): Promise<{ logps: Float64Array; tokens: Uint32Array }>;
  applyGradients(options: {
    readonly learningRate: number;
    readonly maxGradNorm: number | undefined;
  }): Promise<{ gradNorm: number; applied: boolean }>;
  discardGradients(): Promise<void>;
  saveState(dir: string): Promise<void>;
  loadState(dir: string): Promise<void>;
}

const messageSchema = z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() });
const sftLineSchema = z.object({
  id: z.union([z.string().min(1), z.number().int()]).optional(),
  prompt: z.string().optional(),
  completion: z.string().optional(),
  messages: z.array(messageSchema).min(2).optional(),
});

/**
 * Read SFT examples (TRL formats): `{prompt, completion}` strings, or `{messages}` whose last message
 * is the assistant's answer (rendered with `template`). Errors name file, line and field.
 */
export async function readSftExamples(
  path: string,
  template: ChatTemplate = chatmlTemplate,
): Promise<SftExample[]> {
  const file = basename(path);
  const out: SftExample[] = [];
  const seen = new Set<string>();
  let n = 0;
  const fail = (field: string, message: string): never => {
    throw new TrainerError("DATA_INVALID", `${file}:${n}: field "${field}": ${message}`);
  };
  for await (const { line, value: l } of readJsonlLines(path, sftLineSchema)) {
    n = line;
    let prompt: string;
    let completion: string;
    if (l.messages) {
      const msgs = l.messages as ChatMessage[];
      const last = msgs.at(-1)!;
      if (last.role !== "assistant")
        fail(
          "messages",
          `expected the last message to be the assistant's; received role ${describeValue(last.role)}`,
        );
      ({ prompt, completion } = renderCompletion(template, msgs.slice(0, -1), [last]));
    } else {
      if (l.prompt === undefined || l.prompt === "")
        fail("prompt", "required (non-empty) unless messages are given");
      if (l.completion === undefined || l.completion === "")
        fail("completion", "required (non-empty) unless messages are given");
      prompt = l.prompt!;
      completion = l.completion!;
    }
    const id = l.id === undefined ? `line:${n}` : String(l.id);
    if (seen.has(id)) fail("id", `expected ids to be unique; received ${describeValue(id)} again`);
    seen.add(id);
    out.push({ id, prompt, completion });
  }
  return out;
}

export const sftConfigSchema = z
  .object({
    steps: z.number().int().min(1),
    batchSize: z.number().int().min(1).default(8),
    learningRate: z.number().positive().finite().default(1e-4),
    ...loopConfigFields,
  })
  .strict();

export type SftConfig = z.infer<typeof sftConfigSchema>;
export type SftConfigInput = z.input<typeof sftConfigSchema>;

export interface RunSftOptions {
  readonly config: SftConfigInput;
  readonly policy: SequencePolicyLike;
  readonly examples: readonly SftExample[];
  readonly runDir: string;
  readonly resume?: boolean;
  readonly progress?: boolean | Progress;
  readonly stop?: StopController;
  readonly onStep?: (record: MetricsRecord) => void | Promise<void>;
  readonly log?: (line: string) => void;
}

export interface RunSftResult {
  readonly status: "completed" | "interrupted" | "nonfinite";
  readonly step: number;
  readonly checkpoint: string | undefined;
  readonly resumedFrom: number | undefined;
  readonly metricsPath: string;
  readonly signal: NodeJS.Signals | undefined;
}

interface SftState {
  step: number;
  rng: RngState;
  order: number[];
  cursor: number;
  epoch: number;
  nonFiniteSteps: number;
  dataHash: string;
  config: SftConfig;
}

/**
 * Supervised fine-tuning: token-mean next-token loss on completions (TRL's SFT with
 * completion-only loss), epochs over the examples shuffled by the seeded RNG, the same
 * checkpoint / resume / signal / non-finite machinery as `runDpo`. Metrics per step: `loss`
 * (mean NLL per completion token), `num_tokens`, `grad_norm`, `learning_rate`, `epoch`.
 */
export async function runSft(options: RunSftOptions): Promise<RunSftResult> {
  const config = parseConfig(sftConfigSchema, options.config, "config");
  const { policy, examples, runDir } = options;
  const log = loopLog(options.log);
  if (examples.length === 0) throw new TrainerError("DATA_EMPTY", "runSft needs at least one example");
  const dataHash = sha256(examples.map((e) => JSON.stringify([e.id, e.prompt, e.completion])).join("\n"));
  const { checkpoints, latest } = await openCheckpoints(runDir, config.keepCheckpoints, options.resume);
  const rng = new Rng(config.seed);
  const state: SftState = {
    step: 0,
    rng: rng.getState(),
    order: [],
    cursor: 0,
    epoch: 0,
    nonFiniteSteps: 0,
    dataHash,
    config,
  };
  const trainerProvider = jsonStateProvider<SftState>(
    "trainer",
    () => ({ ...state, rng: rng.getState() }),
    (saved) => {
      checkResumeConfig(saved.config, config, Object.keys(config) as (keyof SftConfig)[]);
      if (saved.dataHash !== dataHash)
        throw new TrainerError("CONFIG_INVALID", "cannot resume on different data");
      Object.assign(state, saved, { config });
      rng.setState(saved.rng);
    },
  );
  const policyProvider = policyStateProvider(policy);
  const providers = [trainerProvider, policyProvider];
  let resumedFrom: number | undefined;
  if (latest) {
    await checkpoints.load(latest.path, providers);
    resumedFrom = state.step;
    log(`resumed from ${latest.path} (step ${state.step})`);
  }
  const loop = await runTrainingLoop({
    steps: config.steps,
    counters: state,
    config,
    items: { word: "examples", key: "example_ids" },
    runDir,
    checkpoints,
    providers,
    latest,
    resumedFrom,
    stop: options.stop,
    progress: options.progress,
    label: "sft",
    log,
    onStep: options.onStep,
    step: async () => {
      const t0 = performance.now();
      const batch: SftExample[] = [];
      while (batch.length < Math.min(config.batchSize, examples.length)) {
        if (state.cursor >= state.order.length) {
          state.order = rng.shuffle(examples.map((_, i) => i));
          state.cursor = 0;
          state.epoch++;
        }
        batch.push(examples[state.order[state.cursor++]!]!);
      }
      let totalTokens = 0;
      const out = await policy.accumulateSequenceGradient(
        batch,
        (_logps, tokens): LogProbGradient["chosen"] => {
          totalTokens = tokens.reduce((a, b) => a + b, 0);
          return new Float64Array(batch.length).fill(-1 / Math.max(1, totalTokens));
        },
      );
      let nll = 0;
      for (const v of out.logps) nll -= v;
      const loss = nll / Math.max(1, totalTokens);
      const {
        learningRate,
        gradNorm,
        applied: finite,
      } = await optimizerStep(policy, state.step, config, Number.isFinite(loss));
      state.step++;
      const record: MetricsRecord = {
        event: "train",
        step: state.step,
        loss,
        num_tokens: totalTokens,
        grad_norm: gradNorm,
        learning_rate: learningRate,
        epoch: state.epoch,
        skipped: !finite,
        "time/step_s": (performance.now() - t0) / 1000,
      };
      return {
        record,
        progress: { loss },
        ...(finite ? {} : { nonFinite: { what: "loss or gradient", ids: batch.map((e) => e.id) } }),
      };
    },
  });
  return {
    status: loop.status,
    step: state.step,
    checkpoint: loop.checkpoint,
    resumedFrom,
    metricsPath: loop.metricsPath,
    signal: loop.signal,
  };
}
