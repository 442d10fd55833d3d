/**
 * The GPU model: parameters as GPU tensors, a training forward that keeps what backward needs,
 * backward for every parameter composed from `@sage/kernels-webgpu` kernels, and token /
 * sequence log-probs with the LM head chunked over rows (never a full `[B·T, V]` logits buffer).
 *
 * Layout: activations are `[N, ·]` with N = B·T, row n = b·T + t. Linear weights are HF
 * `[out, in]` (`y = x·Wᵀ`, matmul with `transB`).
 *
 * Token log-probs are aligned with tokens: `logp[b·T + t] = log p(tokens[b][t] | tokens[b][<t])`
 * where `responseMask[b][t] = 1`, else 0 (t = 0 is never scored) — as in `referenceSequenceLogProbs`.
 */
import {
  addInPlace,
  attentionBackward,
  copyInto,
  embedding,
  embeddingBackward,
  fill,
  type GpuContext,
  matmul,
  type RopeTable,
  rmsnorm,
  rmsnormBackward,
  ropeBackward,
  ropeTable,
  sequenceLogprobs,
  sequenceLogprobsBackward,
  swigluBackward,
  Tensor,
  type TokenLogprobsResult,
  tokenLogprobs,
  tokenLogprobsBackward,
} from "@sage/kernels-webgpu";
import { checkBatch, positionIds, type ScoredBatch, type TokenBatch } from "../batch.js";
import type { ModelConfig } from "../config.js";
import { ModelError } from "../errors.js";
import { type ModelWeights, type ParamSpec, parameterSpecs } from "../weights.js";
import { type GenerateOptions, type GenerateResult, generate } from "./generate.js";
import { decoderLayer, type LayerActs, type LayerModel, releaseLayer } from "./layer.js";
import { copyRows, release, view } from "./util.js";

export interface PolicyOptions {
  /** Allocate gradient buffers (default true). A frozen reference uses false. */
  trainable?: boolean;
  /** Bytes of one LM-head logits chunk `[rows, V]` (default 32 MiB; at least one row). */
  lmHeadChunkBytes?: number;
  label?: string;
}

const IGNORE = -100;

/** What a training forward keeps for backward. Call `policy.backward` or `release()` exactly once. */
export interface TrainForward {
  readonly B: number;
  readonly T: number;
  /** `[B]` sequence log-probs (sum over response tokens). */
  readonly sequence: Float64Array;
  /** `[B·T]` token log-probs aligned with tokens (0 where not scored). */
  readonly tokens: Float32Array;
  /** Number of scored tokens. */
  readonly scoredTokens: number;
  release(): void;
}

/**
 * A training forward whose per-row results stay on the GPU (nothing is read back): the `[B]`
 * sequence sums, response token counts and TRL's logit sums, for a loss computed on the device
 * (e.g. `@sage/kernels-webgpu`'s `dpoStep`) whose `[B]` gradient tensor goes to `policy.backward`.
 * The tensors belong to the forward: `backward` or `release()` frees them.
 */
export interface DeviceTrainForward {
  readonly B: number;
  readonly T: number;
  readonly scoredTokens: number;
  /** `[B]` Σ over response tokens of log p (f32). */
  readonly sums: Tensor<"f32">;
  /** `[B]` response (scored) token counts. */
  readonly counts: Tensor<"f32">;
  /**
   * `[B]` Σ over response tokens of the mean over the vocabulary of the logits predicting them
   * (h·mean_v(W_lm): no `[N, V]` reduction). Divided by the token count it is TRL's `logits/*`.
   */
  readonly logitSums: Tensor<"f32">;
  release(): void;
}

interface TrainState {
  B: number;
  T: number;
  scoredTokens: number;
  /** Host path: sequence sums and token log-probs. */
  sequence?: Float64Array;
  tokens?: Float32Array;
  /** Device path: `[B]` reductions (freed with the state) and the `[B, T]` u32 mask of scored rows. */
  sums?: Tensor<"f32">;
  counts?: Tensor<"f32">;
  logitSums?: Tensor<"f32">;
  scoredMask?: Tensor;
  release(): void;
  ids: Int32Array;
  pos: Tensor; // [N] i32 position ids
  keyMask: Tensor; // [B, T] i32
  targets: Int32Array; // per LM-head row: next token if scored, else IGNORE
  layers: (LayerActs | undefined)[]; // undefined: recomputed from inputs[l] in backward
  inputs: Tensor[]; // layer inputs (recompute mode only)
  xFinal: Tensor;
  hf: Tensor;
  rstdF: Tensor;
  lse: Float32Array | Tensor; // per LM-head row (host path: host array; device path: [N] tensor)
  released: boolean;
}

export class Policy implements Disposable {
  readonly ctx: GpuContext;
  readonly config: ModelConfig;
  readonly trainable: boolean;
  readonly label: string;
  private readonly specs: ParamSpec[];
  private readonly params = new Map<string, Tensor<"f32">>();
  private readonly grads = new Map<string, Tensor<"f32">>();
  private readonly table: RopeTable;
  private readonly layerModel: LayerModel;
  private readonly chunkBytes: number;
  private destroyed = false;

  private constructor(ctx: GpuContext, config: ModelConfig, options: PolicyOptions) {
    this.ctx = ctx;
    this.config = config;
    this.trainable = options.trainable ?? true;
    this.label = options.label ?? "policy";
    this.specs = parameterSpecs(config);
    this.chunkBytes = options.lmHeadChunkBytes ?? 32 * 2 ** 20;
    this.table = ropeTable(ctx, {
      headDim: config.headDim,
      maxPositions: config.maxPositionEmbeddings,
      theta: config.ropeTheta,
    });
    this.layerModel = { config, table: this.table, param: (name) => this.param(name) };
  }

  /** Upload weights to the device of `ctx`. The caller owns `ctx`; `destroy()` frees only what this made. */
  static create(
    ctx: GpuContext,
    config: ModelConfig,
    weights: ModelWeights,
    options: PolicyOptions = {},
  ): Policy {
    if (config.headDim % 4 !== 0) {
      throw new ModelError(
        "CONFIG_UNSUPPORTED",
        `head_dim ${config.headDim}: the GPU attention kernel needs a multiple of 4`,
      );
    }
    const limit = ctx.limits.maxStorageBufferBindingSize;
    for (const s of parameterSpecs(config)) {
      const bytes = 4 * s.shape.reduce((a, b) => a * b, 1);
      if (bytes > limit) {
        throw new ModelError(
          "DEVICE_LIMIT_EXCEEDED",
          `parameter "${s.name}" ${JSON.stringify(s.shape)} needs ${bytes} bytes in one binding; this device allows ${limit} (maxStorageBufferBindingSize)`,
        );
      }
    }
    const p = new Policy(ctx, config, options);
    try {
      for (const s of p.specs) {
        const data = s.get(weights);
        const n = s.shape.reduce((a, b) => a * b, 1);
        if (data.length !== n) {
          throw new ModelError(
            "TENSOR_SHAPE_MISMATCH",
            `"${s.name}": expected ${n} elements, received ${data.length}`,
          );
        }
        p.params.set(s.name, ctx.tensor(data, s.shape, `${p.label}:${s.name}`));
        if (p.trainable) {
          const g = ctx.empty(s.shape, "f32", `${p.label}:grad:${s.name}`);
          p.grads.set(s.name, g);
        }
      }
    } catch (e) {
      p.destroy();
      throw e;
    }
    return p;
  }

  /** A frozen copy (forward only, no gradient buffers), copied on the GPU. */
  frozenCopy(label = `${this.label}:reference`): Policy {
    this.assertAlive();
    const p = new Policy(this.ctx, this.config, {
      trainable: false,
      lmHeadChunkBytes: this.chunkBytes,
      label,
    });
    try {
      for (const s of this.specs) {
        const t = this.ctx.empty(s.shape, "f32", `${label}:${s.name}`);
        copyInto(this.ctx, t, this.param(s.name));
        p.params.set(s.name, t);
      }
    } catch (e) {
      p.destroy();
      throw e;
    }
    return p;
  }

  get parameterNames(): string[] {
    return this.specs.map((s) => s.name);
  }

  param(name: string): Tensor<"f32"> {
    const t = this.params.get(name);
    if (!t) throw new ModelError("TENSOR_MISSING", `policy has no parameter "${name}"`);
    return t;
  }

  grad(name: string): Tensor<"f32"> {
    if (!this.trainable)
      throw new ModelError("STATE_INVALID", `policy '${this.label}' is frozen (no gradients)`);
    const t = this.grads.get(name);
    if (!t) throw new ModelError("TENSOR_MISSING", `policy has no gradient "${name}"`);
    return t;
  }

  /** Set every gradient to 0. */
  zeroGrad(): void {
    this.assertAlive();
    for (const g of this.grads.values()) fill(this.ctx, g, 0);
  }

  /** Download the weights. */
  async readWeights(): Promise<ModelWeights> {
    this.assertAlive();
    const z = new Float32Array(0);
    const w: ModelWeights = {
      embed: z,
      finalNorm: z,
      layers: Array.from({ length: this.config.numLayers }, () => ({
        inputNorm: z,
        q: z,
        k: z,
        v: z,
        o: z,
        postNorm: z,
        gate: z,
        up: z,
        down: z,
      })),
    };
    for (const s of this.specs) s.set(w, (await this.ctx.read(this.param(s.name))) as Float32Array);
    return w;
  }

  /** Download every gradient (HF names). */
  async readGrads(): Promise<Record<string, Float32Array>> {
    const out: Record<string, Float32Array> = {};
    for (const s of this.specs) out[s.name] = (await this.ctx.read(this.grad(s.name))) as Float32Array;
    return out;
  }

  // ------------------------------------------------------------------------------ forward

  private prepare(batch: TokenBatch) {
    const [B, T] = checkBatch(this.config, batch);
    const N = B * T;
    const c = this.config;
    const widest = Math.max(c.intermediateSize, c.numHeads * c.headDim, c.hiddenSize);
    const limit = this.ctx.limits.maxStorageBufferBindingSize;
    if (4 * N * widest > limit) {
      throw new ModelError(
        "DEVICE_LIMIT_EXCEEDED",
        `batch ${B} × ${T} tokens needs activations of ${4 * N * widest} bytes in one binding; this device allows ${limit}: use smaller micro-batches (gradient accumulation)`,
      );
    }
    const ids = Int32Array.from(batch.tokens.flat());
    const pos = Int32Array.from(positionIds(batch).flat());
    const mask = new Int32Array(N);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) mask[b * T + t] = (batch.attentionMask?.[b]?.[t] ?? 1) === 1 ? 1 : 0;
    }
    const keyMask = this.ctx.tensor(mask, [B, T], `${this.label}:key_mask`);
    const posT = this.ctx.tensor(pos, [N], `${this.label}:positions`);
    return { B, T, N, ids, pos: posT, keyMask };
  }

  /** Final hidden states after the last RMSNorm, `[B·T, d]`, for inference (nothing kept). */
  private hidden(batch: TokenBatch): { B: number; T: number; N: number; h: Tensor } {
    const { B, T, N, ids, pos, keyMask } = this.prepare(batch);
    let x: Tensor;
    try {
      x = this.trunk(B, T, ids, pos, keyMask, "none").x;
    } finally {
      release(this.ctx, keyMask, pos);
    }
    const nf = rmsnorm(this.ctx, x, this.param("model.norm.weight"), { eps: this.config.rmsNormEps });
    release(this.ctx, x, nf.rstd);
    return { B, T, N, h: nf.y };
  }

  /** One decoder layer on `x` `[N, d]` (full causal attention): its activations and its output. */
  private layerForward(
    l: number,
    x: Tensor,
    B: number,
    T: number,
    pos: Tensor,
    keyMask: Tensor,
  ): { acts: LayerActs; out: Tensor } {
    return decoderLayer(this.ctx, this.layerModel, { layer: l, x, B, T, pos, keyMask });
  }

  /**
   * Run the layers; returns the final hidden state (pre-norm) and what `keep` asks for: every
   * activation (`"all"`), only each layer's input (`"inputs"`, activation recomputation), or
   * nothing (`"none"`, inference: each layer's activations are freed as soon as it is done).
   */
  private trunk(
    B: number,
    T: number,
    ids: Int32Array,
    pos: Tensor,
    keyMask: Tensor,
    keep: "all" | "inputs" | "none",
  ): { x: Tensor; layers: (LayerActs | undefined)[]; inputs: Tensor[] } {
    const ctx = this.ctx;
    let x: Tensor = embedding(ctx, this.param("model.embed_tokens.weight"), ids);
    const layers: (LayerActs | undefined)[] = [];
    const inputs: Tensor[] = [];
    try {
      for (let l = 0; l < this.config.numLayers; l++) {
        const { acts, out } = this.layerForward(l, x, B, T, pos, keyMask);
        if (keep === "all") {
          layers.push(acts);
        } else {
          const { x: input, ...rest } = acts;
          release(ctx, ...Object.values(rest));
          if (keep === "inputs") {
            layers.push(undefined);
            inputs.push(input);
          } else release(ctx, input);
        }
        x = out;
      }
    } catch (e) {
      release(ctx, x, ...inputs);
      for (const L of layers) if (L) releaseLayer(ctx, L);
      throw e;
    }
    return { x, layers, inputs };
  }

  /** LM-head rows per chunk. */
  private chunkRows(N: number): number {
    return Math.max(1, Math.min(N, Math.floor(this.chunkBytes / (4 * this.config.vocabSize))));
  }

  private get lmHead(): Tensor {
    return this.param(this.config.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight");
  }

  /**
   * The LM head chunked over rows: for each chunk of `hf` with at least one scored target, its
   * logits and their token log-probs (`checkFinite`: read back the kernel's status and throw on a
   * non-finite row), handed to `use` with the chunk's first row; freed after `use` returns.
   */
  private async forEachHeadChunk(
    hf: Tensor,
    targets: Int32Array,
    checkFinite: boolean,
    use: (res: TokenLogprobsResult, r0: number, r: number) => Promise<void> | void,
  ): Promise<void> {
    const ctx = this.ctx;
    const N = targets.length;
    const d = this.config.hiddenSize;
    const rows = this.chunkRows(N);
    for (let r0 = 0; r0 < N; r0 += rows) {
      const r = Math.min(rows, N - r0);
      const tg = targets.subarray(r0, r0 + r);
      if (tg.every((t) => t === IGNORE)) continue;
      const hc = ctx.empty([r, d], "f32", "lm_head:h");
      copyRows(ctx, hf, r0, hc, 0, r, d);
      const logits = matmul(ctx, hc, this.lmHead, { transB: true });
      const res = await tokenLogprobs(ctx, logits, Int32Array.from(tg), { checkTargets: false, checkFinite });
      await use(res, r0, r);
      release(ctx, hc, logits, res.logp, res.lse);
    }
  }

  /**
   * Per-row log-probs of `targets` (IGNORE → 0) and log-sum-exps, LM head chunked over rows.
   * Returns host arrays `[N]`.
   */
  private async headLogprobs(
    hf: Tensor,
    targets: Int32Array,
  ): Promise<{ logp: Float32Array; lse: Float32Array }> {
    const ctx = this.ctx;
    const N = targets.length;
    const logp = new Float32Array(N);
    const lse = new Float32Array(N);
    await this.forEachHeadChunk(hf, targets, true, async (res, r0) => {
      const [lp, ls] = await Promise.all([ctx.read(res.logp), ctx.read(res.lse)]);
      logp.set(lp as Float32Array, r0);
      lse.set(ls as Float32Array, r0);
    });
    return { logp, lse };
  }

  /**
   * Device twin of `headLogprobs`: `[N]` tensors of per-row log-probs (0 where ignored) and
   * log-sum-exps, written chunk by chunk on the GPU with no read-back (no finiteness check either:
   * a loss computed from them carries any NaN to the host's read of its values).
   */
  private async headLogprobsDevice(hf: Tensor, targets: Int32Array): Promise<{ logp: Tensor; lse: Tensor }> {
    const ctx = this.ctx;
    const N = targets.length;
    const logp = ctx.empty([N], "f32", "lm_head:logp");
    const lse = ctx.empty([N], "f32", "lm_head:lse");
    try {
      fill(ctx, logp, 0);
      fill(ctx, lse, 0);
      await this.forEachHeadChunk(hf, targets, false, (res, r0, r) => {
        copyRows(ctx, res.logp, 0, logp, r0, r, 1);
        copyRows(ctx, res.lse, 0, lse, r0, r, 1);
      });
    } catch (e) {
      release(ctx, logp, lse);
      throw e;
    }
    return { logp, lse };
  }

  /** Full logits `[B·T·V]` (allocates `[rows, V]` chunks on the GPU; the host array is B·T·V). */
  async logits(batch: TokenBatch): Promise<Float32Array> {
    this.assertAlive();
    const { N, h } = this.hidden(batch);
    const ctx = this.ctx;
    const V = this.config.vocabSize;
    const d = this.config.hiddenSize;
    const nf = { y: h };
    const out = new Float32Array(N * V);
    const rows = this.chunkRows(N);
    try {
      for (let r0 = 0; r0 < N; r0 += rows) {
        const r = Math.min(rows, N - r0);
        const hc = ctx.empty([r, d], "f32", "logits:h");
        copyRows(ctx, nf.y, r0, hc, 0, r, d);
        const lg = matmul(ctx, hc, this.lmHead, { transB: true });
        out.set((await ctx.read(lg)) as Float32Array, r0 * V);
        release(ctx, hc, lg);
      }
    } finally {
      release(ctx, nf.y);
    }
    return out;
  }

  private targetsFor(batch: ScoredBatch, B: number, T: number): { targets: Int32Array; scored: number } {
    const targets = new Int32Array(B * T).fill(IGNORE);
    let scored = 0;
    for (let b = 0; b < B; b++) {
      for (let t = 1; t < T; t++) {
        if (batch.responseMask[b]?.[t] === 1) {
          targets[b * T + t - 1] = batch.tokens[b]?.[t] as number;
          scored++;
        }
      }
    }
    return { targets, scored };
  }

  private alignLogp(
    rowLogp: Float32Array,
    B: number,
    T: number,
  ): { tokens: Float32Array; sequence: Float64Array } {
    const tokens = new Float32Array(B * T);
    const sequence = new Float64Array(B);
    for (let b = 0; b < B; b++) {
      for (let t = 1; t < T; t++) {
        const v = rowLogp[b * T + t - 1] as number;
        tokens[b * T + t] = v;
        sequence[b] = (sequence[b] as number) + v;
      }
    }
    return { tokens, sequence };
  }

  /** Logits of the last position of every row, `[B·V]` (used by full-recomputation sampling). */
  async lastLogits(batch: TokenBatch): Promise<Float32Array> {
    this.assertAlive();
    const { B, T, h } = this.hidden(batch);
    const ctx = this.ctx;
    const d = this.config.hiddenSize;
    // RMSNorm is per row, so normalising all rows then taking the last ones is the same math.
    const last = ctx.empty([B, d], "f32", "last_logits:h");
    for (let b = 0; b < B; b++) copyRows(ctx, h, b * T + T - 1, last, b, 1, d);
    const lg = matmul(ctx, last, this.lmHead, { transB: true });
    try {
      return (await ctx.read(lg)) as Float32Array;
    } finally {
      release(ctx, h, last, lg);
    }
  }

  /** Batched sampling (KV cache by default); see `GenerateOptions`. */
  generate(prompts: readonly (readonly number[])[], options: GenerateOptions): Promise<GenerateResult> {
    this.assertAlive();
    return generate(this, prompts, options);
  }

  /** @internal The RoPE table (shared with the decoder). */
  get ropeTableForDecoding(): RopeTable {
    return this.table;
  }

  /** Sequence log-probs for a scored batch (inference: nothing kept). */
  async sequenceLogProbs(batch: ScoredBatch): Promise<{ sequence: Float64Array; tokens: Float32Array }> {
    this.assertAlive();
    const { targets } = this.targetsFor(batch, ...checkBatch(this.config, batch));
    const { B, T, h } = this.hidden(batch);
    try {
      const { logp } = await this.headLogprobs(h, targets);
      return this.alignLogp(logp, B, T);
    } finally {
      release(this.ctx, h);
    }
  }

  /**
   * Training forward: sequence log-probs, keeping what `backward` needs — every activation, or
   * with `recompute: true` only each layer's input (backward then re-runs each layer's forward:
   * ~1/3 more compute, activation memory O(layers·N·d) instead of O(layers·N·(8d + 3I))).
   */
  async forwardTrain(batch: ScoredBatch, options: { recompute?: boolean } = {}): Promise<TrainForward> {
    return (await this.forwardTrainState(batch, options.recompute ?? false, false)) as TrainState &
      TrainForward;
  }

  /**
   * Training forward that keeps its results on the GPU (see `DeviceTrainForward`): the same
   * activations as `forwardTrain`, no host read. Pass the loss's `[B]` gradient tensor to `backward`.
   */
  async forwardTrainOnDevice(
    batch: ScoredBatch,
    options: { recompute?: boolean } = {},
  ): Promise<DeviceTrainForward> {
    return (await this.forwardTrainState(batch, options.recompute ?? false, true)) as TrainState &
      DeviceTrainForward;
  }

  private async forwardTrainState(
    batch: ScoredBatch,
    recompute: boolean,
    device: boolean,
  ): Promise<TrainState> {
    this.assertAlive();
    if (!this.trainable)
      throw new ModelError("STATE_INVALID", `policy '${this.label}' is frozen; use sequenceLogProbs`);
    const { targets, scored } = this.targetsFor(batch, ...checkBatch(this.config, batch));
    const { B, T, ids, pos, keyMask } = this.prepare(batch);
    const ctx = this.ctx;
    let trunk: { x: Tensor; layers: (LayerActs | undefined)[]; inputs: Tensor[] };
    try {
      trunk = this.trunk(B, T, ids, pos, keyMask, recompute ? "inputs" : "all");
    } catch (e) {
      release(ctx, keyMask, pos);
      throw e;
    }
    const { x, layers, inputs } = trunk;
    const nf = rmsnorm(ctx, x, this.param("model.norm.weight"), { eps: this.config.rmsNormEps });
    let head: Pick<
      TrainState,
      "lse" | "sequence" | "tokens" | "sums" | "counts" | "logitSums" | "scoredMask"
    >;
    try {
      head = device ? await this.deviceHead(nf.y, targets, B, T) : await this.hostHead(nf.y, targets, B, T);
    } catch (e) {
      release(ctx, x, nf.y, nf.rstd, keyMask, pos, ...inputs);
      for (const L of layers) if (L) releaseLayer(ctx, L);
      throw e;
    }
    const state: TrainState = {
      B,
      T,
      ...head,
      scoredTokens: scored,
      ids,
      pos,
      keyMask,
      targets,
      layers,
      inputs,
      xFinal: x,
      hf: nf.y,
      rstdF: nf.rstd,
      released: false,
      release: () => {
        if (state.released) return;
        state.released = true;
        release(ctx, state.xFinal, state.hf, state.rstdF, state.keyMask, state.pos, ...state.inputs);
        release(ctx, state.sums, state.counts, state.logitSums, state.scoredMask);
        if (state.lse instanceof Tensor) release(ctx, state.lse);
        for (const L of state.layers) if (L) releaseLayer(ctx, L);
      },
    };
    return state;
  }

  private async hostHead(hf: Tensor, targets: Int32Array, B: number, T: number) {
    const head = await this.headLogprobs(hf, targets);
    return { lse: head.lse, ...this.alignLogp(head.logp, B, T) };
  }

  /** LM head on the device: `[B]` sums, counts and logit sums of the scored rows, `[N]` lse. */
  private async deviceHead(hf: Tensor, targets: Int32Array, B: number, T: number) {
    const ctx = this.ctx;
    const V = this.config.vocabSize;
    const mask = ctx.tensor(
      Uint32Array.from(targets, (t) => (t === IGNORE ? 0 : 1)),
      [B, T],
      `${this.label}:scored_mask`,
    );
    const made: Tensor[] = [mask];
    try {
      const { logp, lse } = await this.headLogprobsDevice(hf, targets);
      made.push(lse);
      const seq = sequenceLogprobs(ctx, view(logp, [B, T]), { mask });
      release(ctx, logp, seq.mean);
      made.push(seq.sum, seq.count);
      // TRL's logits/*: mean over the vocabulary of a row's logits = h·mean_v(W) (a [1, d] vector).
      const inv = ctx.tensor(new Float32Array(V).fill(1 / V), [1, V], "lm_head:mean_v");
      const wMean = matmul(ctx, inv, this.lmHead); // [1, V]·[V, d]
      const rowMean = matmul(ctx, hf, wMean, { transB: true }); // [N, d]·[d, 1]
      release(ctx, inv, wMean);
      const lg = sequenceLogprobs(ctx, view(rowMean, [B, T]), { mask });
      release(ctx, rowMean, lg.mean, lg.count);
      made.push(lg.sum);
      return { lse, sums: seq.sum, counts: seq.count, logitSums: lg.sum, scoredMask: mask };
    } catch (e) {
      release(ctx, ...made);
      throw e;
    }
  }

  // ------------------------------------------------------------------------------ backward

  /**
   * Accumulate into the gradients the gradient of `Σ_b dSeq[b]·sequence[b]` (e.g. a DPO loss's
   * derivative w.r.t. the sequence log-probs), then release the forward's activations.
   */
  async backward(fwd: TrainForward | DeviceTrainForward, dSeq: ArrayLike<number> | Tensor): Promise<void> {
    const st = fwd as unknown as TrainState;
    if (st.released === undefined || st.layers === undefined) {
      throw new ModelError("STATE_INVALID", "backward needs a TrainForward from this policy's forwardTrain");
    }
    if (st.released) throw new ModelError("STATE_INVALID", "this TrainForward was already used or released");
    if (dSeq instanceof Tensor) {
      if (!(st.lse instanceof Tensor) || dSeq.dtype !== "f32" || dSeq.size !== st.B) {
        st.release();
        throw new ModelError(
          "INPUT_INVALID",
          `a dSeq tensor needs a forwardTrainOnDevice forward and shape [${st.B}] f32; received ${dSeq.dtype} [${dSeq.shape.join(", ")}]${st.lse instanceof Tensor ? "" : " with a host forward"}`,
        );
      }
    } else {
      if (dSeq.length !== st.B) {
        throw new ModelError(
          "INPUT_INVALID",
          `dSeq has ${dSeq.length} entries, expected one per row (${st.B})`,
        );
      }
      for (let b = 0; b < st.B; b++) {
        if (!Number.isFinite(dSeq[b])) {
          st.release();
          throw new ModelError("INPUT_INVALID", `dSeq[${b}] = ${dSeq[b]}: expected a finite number`);
        }
      }
    }
    try {
      await this.backwardInner(st, dSeq);
    } finally {
      st.release();
    }
  }

  private async backwardInner(st: TrainState, dSeq: ArrayLike<number> | Tensor): Promise<void> {
    const c = this.config;
    const ctx = this.ctx;
    const { B, T } = st;
    const N = B * T;
    const d = c.hiddenSize;
    const hd = c.headDim;
    const qDim = c.numHeads * hd;
    const kvDim = c.numKvHeads * hd;
    const G = (n: string) => this.grad(n);
    const acc = { accumulate: true } as const;
    // --- LM head, chunked: recompute logits, in-place backward, dhf and dW_lm.
    const dhf = ctx.empty([N, d], "f32", "bwd:dhf");
    const lmName = c.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
    const rows = this.chunkRows(N);
    // Device path: per-row upstream gradients mask·dSeq[row] on the GPU (no host round-trip).
    let gRows: Tensor | undefined;
    try {
      fill(ctx, dhf, 0);
      gRows =
        dSeq instanceof Tensor
          ? sequenceLogprobsBackward(ctx, [B, T], { mask: st.scoredMask as Tensor }, { gSum: dSeq })
          : undefined;
      for (let r0 = 0; r0 < N; r0 += rows) {
        const r = Math.min(rows, N - r0);
        const tg = st.targets.subarray(r0, r0 + r);
        if (tg.every((t) => t === IGNORE)) continue;
        let g: Float32Array | Tensor;
        if (gRows) {
          g = ctx.empty([r], "f32", "bwd:g");
          copyRows(ctx, gRows, r0, g, 0, r, 1);
        } else {
          const gh = new Float32Array(r);
          const ds = dSeq as ArrayLike<number>;
          for (let i = 0; i < r; i++) if (tg[i] !== IGNORE) gh[i] = ds[Math.floor((r0 + i) / T)] as number;
          g = gh;
        }
        const hc = ctx.empty([r, d], "f32", "bwd:h");
        copyRows(ctx, st.hf, r0, hc, 0, r, d);
        const logits = matmul(ctx, hc, this.lmHead, { transB: true });
        let lseT: Tensor;
        if (st.lse instanceof Tensor) {
          lseT = ctx.empty([r], "f32", "bwd:lse");
          copyRows(ctx, st.lse, r0, lseT, 0, r, 1);
        } else lseT = ctx.tensor(st.lse.slice(r0, r0 + r), [r], "bwd:lse");
        const dl = await tokenLogprobsBackward(ctx, logits, Int32Array.from(tg), lseT, g, {
          inPlace: true,
          checkFinite: false,
        });
        const dhc = matmul(ctx, dl, this.lmHead); // [r, V]·[V, d]
        matmul(ctx, dl, hc, { transA: true, out: G(lmName), ...acc }); // [V, r]·[r, d]
        copyRows(ctx, dhc, 0, dhf, r0, r, d);
        release(ctx, hc, logits, lseT, dhc, g instanceof Tensor ? g : undefined);
      }
      release(ctx, gRows);
      const nfb = rmsnormBackward(ctx, dhf, st.xFinal, this.param("model.norm.weight"), st.rstdF, {
        dweightOut: G("model.norm.weight"),
        accumulate: true,
      });
      release(ctx, dhf);
      const dx: Tensor = nfb.dx;
      const ones = ctx.tensor(new Float32Array(N).fill(1), [1, N], "bwd:ones");
      try {
        for (let l = c.numLayers - 1; l >= 0; l--) {
          let L = st.layers[l];
          if (!L) {
            const r = this.layerForward(l, st.inputs[l] as Tensor, B, T, st.pos, st.keyMask);
            release(ctx, r.out);
            L = r.acts;
          }
          const pre = `model.layers.${l}.`;
          const P = (n: string) => this.param(pre + n);
          const GL = (n: string) => G(pre + n);
          // MLP: x3 = x2 + m·Wdᵀ
          matmul(ctx, dx, L.m, { transA: true, out: GL("mlp.down_proj.weight"), ...acc });
          const dm = matmul(ctx, dx, P("mlp.down_proj.weight"));
          const { dgate: dg, dup: du } = swigluBackward(ctx, dm, L.g, L.u);
          release(ctx, dm);
          matmul(ctx, dg, L.h2, { transA: true, out: GL("mlp.gate_proj.weight"), ...acc });
          matmul(ctx, du, L.h2, { transA: true, out: GL("mlp.up_proj.weight"), ...acc });
          const dh2 = matmul(ctx, dg, P("mlp.gate_proj.weight"));
          matmul(ctx, du, P("mlp.up_proj.weight"), { out: dh2, ...acc });
          release(ctx, dg, du);
          const n2b = rmsnormBackward(ctx, dh2, L.x2, P("post_attention_layernorm.weight"), L.rstd2, {
            dweightOut: GL("post_attention_layernorm.weight"),
            accumulate: true,
          });
          addInPlace(ctx, dx, n2b.dx);
          release(ctx, dh2, n2b.dx);
          // attention: x2 = x + o·Woᵀ
          const o2 = view(L.o, [N, qDim]);
          matmul(ctx, dx, o2, { transA: true, out: GL("self_attn.o_proj.weight"), ...acc });
          const dO = matmul(ctx, dx, P("self_attn.o_proj.weight"));
          const vv = view(L.v, [B, T, c.numKvHeads, hd]);
          const ab = attentionBackward(
            ctx,
            view(dO, [B, T, c.numHeads, hd]),
            L.q,
            L.k,
            vv,
            { out: L.o, lse: L.lse },
            { keyMask: st.keyMask },
          );
          release(ctx, dO);
          const dq = ropeBackward(ctx, ab.dq, st.pos, this.table);
          const dk = ropeBackward(ctx, ab.dk, st.pos, this.table);
          release(ctx, ab.dq, ab.dk);
          const dq2 = view(dq, [N, qDim]);
          const dk2 = view(dk, [N, kvDim]);
          const dv2 = view(ab.dv, [N, kvDim]);
          matmul(ctx, dq2, L.h1, { transA: true, out: GL("self_attn.q_proj.weight"), ...acc });
          matmul(ctx, dk2, L.h1, { transA: true, out: GL("self_attn.k_proj.weight"), ...acc });
          matmul(ctx, dv2, L.h1, { transA: true, out: GL("self_attn.v_proj.weight"), ...acc });
          if (c.qkvBias) {
            matmul(ctx, ones, dq2, { out: view(GL("self_attn.q_proj.bias"), [1, qDim]), ...acc });
            matmul(ctx, ones, dk2, { out: view(GL("self_attn.k_proj.bias"), [1, kvDim]), ...acc });
            matmul(ctx, ones, dv2, { out: view(GL("self_attn.v_proj.bias"), [1, kvDim]), ...acc });
          }
          const dh1 = matmul(ctx, dq2, P("self_attn.q_proj.weight"));
          matmul(ctx, dk2, P("self_attn.k_proj.weight"), { out: dh1, ...acc });
          matmul(ctx, dv2, P("self_attn.v_proj.weight"), { out: dh1, ...acc });
          release(ctx, dq, dk, ab.dv);
          const n1b = rmsnormBackward(ctx, dh1, L.x, P("input_layernorm.weight"), L.rstd1, {
            dweightOut: GL("input_layernorm.weight"),
            accumulate: true,
          });
          addInPlace(ctx, dx, n1b.dx);
          release(ctx, dh1, n1b.dx);
          if (!st.layers[l]) releaseLayer(ctx, L); // recomputed: free at once
        }
        embeddingBackward(ctx, dx, st.ids, c.vocabSize, {
          out: G("model.embed_tokens.weight"),
          accumulate: true,
        });
      } finally {
        release(ctx, dx, ones);
      }
    } catch (e) {
      release(ctx, dhf, gRows);
      throw e;
    }
  }

  // ------------------------------------------------------------------------------ lifetime

  private assertAlive(): void {
    if (this.destroyed) throw new ModelError("STATE_INVALID", `policy '${this.label}' was destroyed`);
  }

  /** Free every tensor this policy created (not the context). Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.ctx.flush();
    for (const t of this.params.values()) t.destroy();
    for (const t of this.grads.values()) t.destroy();
    this.params.clear();
    this.grads.clear();
    this.table.destroy();
  }

  [Symbol.dispose](): void {
    this.destroy();
  }
}
