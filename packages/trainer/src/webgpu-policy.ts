import { ADAMW_DEFAULTS, copyInto, DPO_STEP_ROWS, dpoStep, type Tensor } from "@sage/kernels-webgpu";
import {
  AdamW,
  type LoadedModel,
  type ModelConfig,
  type ModelWeights,
  type Policy,
  packPromptResponse,
  parameterSpecs,
  type Tokenizer,
} from "@sage/model";
import { deriveSeed } from "@sage/stability";
import type { PreferencePair } from "./data.js";
import { describeValue, TrainerError } from "./errors.js";
import { sha256 } from "./hash.js";
import type { SampleResponses } from "./pairs.js";
import {
  type BatchLogProbs,
  type DpoMicroBatchLoss,
  type DpoMicroBatchResult,
  dpoStepOptions,
  type LogProbGradient,
  type PolicyLike,
  type SequenceLogProbs,
  type TokenDropout,
  tokenDropoutSums,
} from "./policy.js";
import type { SequencePolicyLike, SftExample } from "./sft.js";

export interface WebGpuPolicyOptions {
  /** A trainable `@sage/model` `Policy` (its `ctx` is the device everything runs on). */
  readonly policy: Policy;
  readonly tokenizer: Tokenizer;
  /** Append the tokenizer's EOS to every response, as TRL does (default true). */
  readonly appendEos?: boolean;
  /** AdamW moments (defaults 0.9, 0.999, 1e-8) and decoupled weight decay (0.01; 0 for norms and biases). */
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  readonly weightDecay?: number;
}

/**
 * File access of `WebGpuPolicy.saveState`/`loadState`, injected so that the class itself imports no
 * Node built-in: the Node entry (`@sage/trainer`) installs `node:fs` (`webgpu-policy-files.ts`); the
 * browser entry installs nothing and those two methods then throw.
 */
export interface PolicyStateFiles {
  readFile(dir: string, name: string): Promise<Uint8Array>;
  writeFile(dir: string, name: string, data: Uint8Array | string): Promise<void>;
  /** Write an HF model folder `<dir>/model`. */
  saveModel(dir: string, config: ModelConfig, weights: ModelWeights): void;
  /** Read the HF model folder `<dir>/model`. */
  loadModel(dir: string): LoadedModel;
}

let stateFiles: PolicyStateFiles | undefined;

/** @internal Installed by the Node entry. */
export function setPolicyStateFiles(files: PolicyStateFiles): void {
  stateFiles = files;
}

function files(dir: string): PolicyStateFiles {
  if (!stateFiles) {
    throw new TrainerError(
      "CHECKPOINT_INVALID",
      `WebGpuPolicy.saveState/loadState("${dir}") needs file access: expected the Node entry of @sage/trainer; received the browser entry, which has none`,
    );
  }
  return stateFiles;
}

interface Encoded {
  readonly prompt: number[];
  readonly chosen: number[];
  readonly rejected: number[];
}

/**
 * `PolicyLike` for `@sage/model`'s WebGPU `Policy`: prompts and responses are tokenized (prompt
 * with the tokenizer's special tokens, responses without, plus EOS), chosen and rejected rows run
 * in one right-padded batch, token dropout is applied to the per-token log-probs of that one
 * forward pass. The optimiser is `@sage/model`'s `AdamW` (the project's one GPU optimiser), driven
 * with the trainer's learning rates; `saveState`/`loadState` round-trip its moments exactly and a
 * non-finite gradient norm (read back before any update) leaves weights and moments untouched.
 *
 * Checkpoint layout (`saveState(dir)`): `model/` — an HF model folder written by `@sage/model`'s
 * `saveModelDir` (float32, loadable with `loadModelDir`); `adamw-m.f32`, `adamw-v.f32` (moments,
 * parameters in `parameterSpecs` order); `optimizer.json` (step count, parameter names).
 */
export class WebGpuPolicy implements PolicyLike, SequencePolicyLike {
  readonly policy: Policy;
  readonly tokenizer: Tokenizer;
  readonly appendEos: boolean;
  readonly #opts: { beta1: number; beta2: number; eps: number; weightDecay: number };
  readonly #optimizer: AdamW;
  readonly #cache = new Map<string, Encoded>();

  constructor(options: WebGpuPolicyOptions) {
    const { policy } = options;
    if (!policy.trainable) {
      throw new TrainerError(
        "POLICY_INVALID",
        `WebGpuPolicy needs a trainable Policy; '${policy.label}' is frozen`,
      );
    }
    this.policy = policy;
    this.tokenizer = options.tokenizer;
    this.appendEos = options.appendEos ?? true;
    this.#opts = {
      beta1: options.beta1 ?? ADAMW_DEFAULTS.beta1,
      beta2: options.beta2 ?? ADAMW_DEFAULTS.beta2,
      eps: options.eps ?? ADAMW_DEFAULTS.eps,
      weightDecay: options.weightDecay ?? ADAMW_DEFAULTS.weightDecay,
    };
    // The learning rate and the clipping threshold come with every `applyGradients` call.
    this.#optimizer = new AdamW(policy, { lr: 1, maxGradNorm: Number.POSITIVE_INFINITY, ...this.#opts });
  }

  get config(): ModelConfig {
    return this.policy.config;
  }

  /** Optimiser steps taken. */
  get stepCount(): number {
    return this.#optimizer.stepCount;
  }

  #encode(pair: PreferencePair): Encoded {
    let e = this.#cache.get(pair.id);
    if (!e) {
      const eos = this.appendEos && this.tokenizer.eosId !== undefined ? [this.tokenizer.eosId] : [];
      const response = (text: string) => [
        ...this.tokenizer.encode(text, { addSpecialTokens: false }),
        ...eos,
      ];
      e = {
        prompt: this.tokenizer.encode(pair.prompt),
        chosen: response(pair.chosen),
        rejected: response(pair.rejected),
      };
      for (const [field, ids] of Object.entries(e) as [keyof Encoded, number[]][]) {
        if (ids.length === 0) {
          throw new TrainerError(
            "DATA_INVALID",
            `pair ${describeValue(pair.id)}: ${field} encodes to no tokens`,
          );
        }
      }
      this.#cache.set(pair.id, e);
    }
    return e;
  }

  /** Rows 0..n−1 chosen, n..2n−1 rejected. */
  #batch(pairs: readonly PreferencePair[]) {
    const enc = pairs.map((p) => this.#encode(p));
    const rows = [
      ...enc.map((e) => ({ prompt: e.prompt, response: e.chosen })),
      ...enc.map((e) => ({ prompt: e.prompt, response: e.rejected })),
    ];
    return {
      rows,
      batch: packPromptResponse(rows, this.tokenizer.padId ?? 0, "right"),
      chosenTokens: Uint32Array.from(enc, (e) => e.chosen.length),
      rejectedTokens: Uint32Array.from(enc, (e) => e.rejected.length),
    };
  }

  async sequenceLogProbs(
    pairs: readonly PreferencePair[],
    options: { readonly dropout?: TokenDropout } = {},
  ): Promise<SequenceLogProbs> {
    const n = pairs.length;
    const { rows, batch, chosenTokens, rejectedTokens } = this.#batch(pairs);
    const { sequence, tokens } = await this.policy.sequenceLogProbs(batch);
    const T = batch.tokens[0]!.length;
    const base = {
      chosen: sequence.slice(0, n),
      rejected: sequence.slice(n, 2 * n),
      chosenTokens,
      rejectedTokens,
    };
    const dropout = options.dropout;
    if (!dropout) return base;
    const k = dropout.k;
    const cp = new Float64Array(n * k);
    const rp = new Float64Array(n * k);
    for (let r = 0; r < 2 * n; r++) {
      const row = rows[r]!;
      const start = r * T + row.prompt.length;
      const lp = tokens.subarray(start, start + row.response.length);
      const i = r % n;
      const side = r < n ? 0 : 1;
      (side === 0 ? cp : rp).set(tokenDropoutSums(lp, dropout, dropout.pairKeys[i]!, side), i * k);
    }
    return { ...base, chosenPerturbed: cp, rejectedPerturbed: rp };
  }

  async accumulateGradient(
    pairs: readonly PreferencePair[],
    lossGradient: (logps: BatchLogProbs) => LogProbGradient,
  ): Promise<BatchLogProbs> {
    const n = pairs.length;
    const { batch, chosenTokens, rejectedTokens } = this.#batch(pairs);
    const fwd = await this.policy.forwardTrain(batch);
    const logps = {
      chosen: fwd.sequence.slice(0, n),
      rejected: fwd.sequence.slice(n, 2 * n),
      chosenTokens,
      rejectedTokens,
    };
    let g: LogProbGradient;
    try {
      g = lossGradient(logps);
    } catch (error) {
      fwd.release();
      throw error;
    }
    await this.policy.backward(fwd, [...g.chosen, ...g.rejected]);
    return logps;
  }

  /**
   * One micro-batch of DPO (+ NLL) on the GPU: the training forward keeps its sequence sums on
   * the device, `@sage/kernels-webgpu`'s `dpoStep` turns them into the loss and its `[2n]`
   * gradient, the backward consumes that tensor; the only read is the per-pair values (losses,
   * rewards, log-prob sums, TRL's logit sums), issued after the backward is encoded.
   */
  async accumulateDpoGradient(
    pairs: readonly PreferencePair[],
    loss: DpoMicroBatchLoss,
  ): Promise<DpoMicroBatchResult> {
    const n = pairs.length;
    const ctx = this.policy.ctx;
    const { batch, chosenTokens, rejectedTokens } = this.#batch(pairs);
    if (loss.refChosen.length !== n || loss.refRejected.length !== n) {
      throw new TrainerError(
        "POLICY_INVALID",
        `accumulateDpoGradient: expected ${n} reference log-probs per side; received ${loss.refChosen.length} and ${loss.refRejected.length}`,
      );
    }
    const ref = new Float32Array(2 * n);
    ref.set(loss.refChosen);
    ref.set(loss.refRejected, n);
    const fwd = await this.policy.forwardTrainOnDevice(batch);
    let step: ReturnType<typeof dpoStep>;
    try {
      step = dpoStep(
        ctx,
        { sums: fwd.sums, counts: fwd.counts, logitSums: fwd.logitSums, ref },
        dpoStepOptions(loss),
      );
    } catch (error) {
      fwd.release();
      throw error;
    }
    try {
      await this.policy.backward(fwd, step.gradSums);
      const v = (await ctx.read(step.values)) as Float32Array;
      const row = (name: (typeof DPO_STEP_ROWS)[number]) => {
        const k = DPO_STEP_ROWS.indexOf(name);
        return Float64Array.from(v.subarray(k * n, (k + 1) * n));
      };
      return {
        chosen: row("chosenLogp"),
        rejected: row("rejectedLogp"),
        chosenTokens,
        rejectedTokens,
        losses: row("loss"),
        chosenRewards: row("chosenReward"),
        rejectedRewards: row("rejectedReward"),
        chosenLogitSums: row("chosenLogitSum"),
        rejectedLogitSums: row("rejectedLogitSum"),
      };
    } finally {
      ctx.flush();
      step.gradSums.destroy();
      step.values.destroy();
    }
  }

  /** SFT: forward + backward of the completions (`SequencePolicyLike`). */
  async accumulateSequenceGradient(
    examples: readonly SftExample[],
    lossGradient: (logps: Float64Array, tokens: Uint32Array) => Float64Array,
  ): Promise<{ logps: Float64Array; tokens: Uint32Array }> {
    const eos = this.appendEos && this.tokenizer.eosId !== undefined ? [this.tokenizer.eosId] : [];
    const rows = examples.map((e) => ({
      prompt: this.tokenizer.encode(e.prompt),
      response: [...this.tokenizer.encode(e.completion, { addSpecialTokens: false }), ...eos],
    }));
    const tokens = Uint32Array.from(rows, (r) => r.response.length);
    const fwd = await this.policy.forwardTrain(packPromptResponse(rows, this.tokenizer.padId ?? 0, "right"));
    const logps = fwd.sequence.slice();
    let g: Float64Array;
    try {
      g = lossGradient(logps, tokens);
    } catch (error) {
      fwd.release();
      throw error;
    }
    await this.policy.backward(fwd, g);
    return { logps, tokens };
  }

  async applyGradients(options: {
    readonly learningRate: number;
    readonly maxGradNorm: number | undefined;
  }): Promise<{ gradNorm: number; applied: boolean }> {
    const r = await this.#optimizer.tryStep({
      lr: options.learningRate,
      maxGradNorm: options.maxGradNorm ?? Number.POSITIVE_INFINITY,
    });
    return { gradNorm: r.gradNorm, applied: r.applied };
  }

  async discardGradients(): Promise<void> {
    this.policy.zeroGrad();
  }

  async readGradient(): Promise<Float32Array> {
    const parts: Float32Array[] = [];
    for (const name of this.policy.parameterNames)
      parts.push((await this.policy.ctx.read(this.policy.grad(name))) as Float32Array);
    return concat(parts);
  }

  async fingerprint(): Promise<string> {
    const parts: Float32Array[] = [];
    for (const name of this.policy.parameterNames)
      parts.push((await this.policy.ctx.read(this.policy.param(name))) as Float32Array);
    const all = concat(parts);
    return sha256(new Uint8Array(all.buffer, all.byteOffset, all.byteLength));
  }

  async saveState(dir: string): Promise<void> {
    const fs = files(dir);
    fs.saveModel(dir, this.config, await this.policy.readWeights());
    const state = await this.#optimizer.exportState();
    for (const [file, all] of [
      ["adamw-m.f32", state.m],
      ["adamw-v.f32", state.v],
    ] as const) {
      await fs.writeFile(dir, file, new Uint8Array(all.buffer, all.byteOffset, all.byteLength));
    }
    await fs.writeFile(
      dir,
      "optimizer.json",
      JSON.stringify({ step: state.step, ...this.#opts, parameters: this.policy.parameterNames }),
    );
  }

  async loadState(dir: string): Promise<void> {
    const ctx = this.policy.ctx;
    const fs = files(dir);
    const meta = JSON.parse(new TextDecoder().decode(await fs.readFile(dir, "optimizer.json"))) as {
      step: number;
      parameters: string[];
    };
    const names = this.policy.parameterNames;
    if (JSON.stringify(meta.parameters) !== JSON.stringify(names)) {
      throw new TrainerError("CHECKPOINT_INVALID", `${dir}: parameter names differ from the policy's`);
    }
    const { config, weights } = fs.loadModel(dir);
    if (JSON.stringify(config) !== JSON.stringify(this.config)) {
      throw new TrainerError("CHECKPOINT_INVALID", `${dir}/model: config differs from the policy's`);
    }
    const upload = (dst: Tensor<"f32">, data: Float32Array) => {
      const tmp = ctx.tensor(data, dst.shape, "load_state:tmp");
      try {
        copyInto(ctx, dst, tmp);
      } finally {
        ctx.flush();
        tmp.destroy();
      }
    };
    for (const spec of parameterSpecs(config)) upload(this.policy.param(spec.name), spec.get(weights));
    const moments: Float32Array[] = [];
    const expected = names.reduce((a, name) => a + this.policy.param(name).size, 0);
    for (const file of ["adamw-m.f32", "adamw-v.f32"]) {
      const bytes = await fs.readFile(dir, file);
      if (bytes.byteLength !== expected * 4) {
        throw new TrainerError(
          "CHECKPOINT_INVALID",
          `${dir}/${file}: expected ${expected} values, found ${bytes.byteLength / 4}`,
        );
      }
      const all = new Float32Array(expected);
      new Uint8Array(all.buffer).set(bytes);
      moments.push(all);
    }
    await this.#optimizer.importState({
      step: meta.step,
      parameterNames: names,
      m: moments[0]!,
      v: moments[1]!,
    });
  }

  /** Free the optimiser moments (the `Policy` stays the caller's). */
  destroy(): void {
    this.#optimizer.destroy();
  }
}

function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export interface WebGpuSamplerOptions {
  /**
   * New tokens at most. Default: 256, or what fits in the model's context after the longest prompt
   * of the call when that is less. An explicit value that does not fit is an error.
   */
  readonly maxNewTokens?: number;
  /** 0 = greedy (then all n samples are equal: use > 0 for pairs). Default 1. */
  readonly temperature?: number;
  readonly topK?: number;
  readonly topP?: number;
  /** Sample j uses seed `deriveSeed(seed, j)` (default seed 0). */
  readonly seed?: number;
}

/**
 * A `SampleResponses` for `buildOnPolicyPairs` from `@sage/model`'s WebGPU `Policy.generate`:
 * prompts are tokenized with special tokens, generation stops at EOS or `maxNewTokens`, responses
 * are decoded without special tokens.
 */
export function webGpuSampler(
  policy: Policy,
  tokenizer: Tokenizer,
  options: WebGpuSamplerOptions,
): SampleResponses {
  return async (prompts, sample) => {
    const ids = prompts.map((p) => tokenizer.encode(p));
    const room = policy.config.maxPositionEmbeddings - Math.max(...ids.map((x) => x.length));
    if (room < 1) {
      throw new TrainerError(
        "DATA_INVALID",
        `a prompt of ${policy.config.maxPositionEmbeddings - room} tokens leaves no room in the model's context (${policy.config.maxPositionEmbeddings})`,
      );
    }
    const r = await policy.generate(ids, {
      maxNewTokens: options.maxNewTokens ?? Math.min(256, room),
      temperature: options.temperature ?? 1,
      ...(options.topK !== undefined ? { topK: options.topK } : {}),
      ...(options.topP !== undefined ? { topP: options.topP } : {}),
      seed: deriveSeed(options.seed ?? 0, sample),
      padId: tokenizer.padId ?? 0,
      ...(tokenizer.eosId !== undefined ? { stopTokenIds: [tokenizer.eosId] } : {}),
    });
    return r.tokens.map((t) => tokenizer.decode(t, { skipSpecialTokens: true }));
  };
}
