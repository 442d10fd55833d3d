/**
 * Batched sampling with a KV cache: prompts are left-padded to a common length P, a prefill pass
 * writes every layer's keys and values into caches `[B, P + maxNewTokens, nKV, hd]`, then each
 * step embeds the B new tokens, appends their K/V at row P + i and attends over the valid rows
 * (key mask hides the prompt padding). Logits of the last position only (`[B, V]`) are read back
 * and sampled on the CPU (`sampleToken`) with one seeded RNG.
 *
 * `useCache: false` recomputes the whole sequence every step instead (the reference the cache is
 * tested against, and the baseline of the benchmark).
 */
import { embedding, type GpuContext, matmul, rmsnorm, type Tensor } from "@sage/kernels-webgpu";
import { ModelError, show } from "../errors.js";
import { applyStopStrings, Rng, type SamplingOptions, sampleToken, validateSampling } from "../sampling.js";
import { checkVocab, type Tokenizer } from "../tokenizer.js";
import { decoderLayer, type LayerModel, layerTensors } from "./layer.js";
import type { Policy } from "./policy.js";
import { copyRows, release } from "./util.js";

export interface GenerateOptions extends SamplingOptions {
  /** Number of new tokens at most (≥ 1). */
  maxNewTokens: number;
  /** RNG seed (default 0). Same seed + same inputs → same tokens. */
  seed?: number;
  /** Token ids that end a row (kept in its output). Default: the config's / tokenizer's EOS id. */
  stopTokenIds?: readonly number[];
  /** Strings that end a row (needs `tokenizer`); the text is cut before the first one. */
  stopStrings?: readonly string[];
  tokenizer?: Tokenizer;
  /** Use the KV cache (default true); false recomputes the full sequence each step. */
  useCache?: boolean;
  /** Pad id for left padding of prompts (default 0; padded positions are masked anyway). */
  padId?: number;
}

export type FinishReason = "eos" | "stop" | "length";

export interface GenerateResult {
  /** New token ids per prompt (including a final stop token id, excluding tokens after it). */
  tokens: number[][];
  finishReasons: FinishReason[];
  /** Decoded new text per prompt (cut at a stop string), when a tokenizer was given. */
  texts?: string[];
}

export async function generate(
  policy: Policy,
  prompts: readonly (readonly number[])[],
  options: GenerateOptions,
): Promise<GenerateResult> {
  const c = policy.config;
  validateSampling(options);
  const maxNew = options.maxNewTokens;
  if (!Number.isSafeInteger(maxNew) || maxNew < 1) {
    throw new ModelError("INPUT_INVALID", `maxNewTokens must be an integer ≥ 1, received ${show(maxNew)}`);
  }
  if (prompts.length === 0 || prompts.some((p) => p.length === 0)) {
    throw new ModelError("INPUT_INVALID", "every prompt needs at least one token");
  }
  if (options.tokenizer) checkVocab(options.tokenizer, c);
  if (options.stopStrings?.length && !options.tokenizer) {
    throw new ModelError("INPUT_INVALID", "stopStrings need a tokenizer to decode the generated text");
  }
  for (const p of prompts) {
    for (const id of p) {
      if (!Number.isSafeInteger(id) || id < 0 || id >= c.vocabSize) {
        throw new ModelError("INPUT_INVALID", `prompt token id ${show(id)} outside [0, ${c.vocabSize})`);
      }
    }
  }
  const B = prompts.length;
  const P = Math.max(...prompts.map((p) => p.length));
  const S = P + maxNew;
  if (S > c.maxPositionEmbeddings) {
    throw new ModelError(
      "SEQUENCE_TOO_LONG",
      `prompt length ${P} + maxNewTokens ${maxNew} = ${S} exceeds max_position_embeddings ${c.maxPositionEmbeddings}`,
    );
  }
  const stopIds = new Set(
    options.stopTokenIds ??
      [options.tokenizer?.eosId ?? c.eosTokenId].filter((x): x is number => x !== undefined),
  );
  const pad = options.padId ?? 0;
  const rng = new Rng(options.seed ?? 0);
  const tokens: number[][] = prompts.map(() => []);
  const reasons: (FinishReason | undefined)[] = prompts.map(() => undefined);
  const texts: string[] = prompts.map(() => "");
  // Left-padded prompts; mask over the full cache capacity (generated slots are real).
  const seqs = prompts.map((p) => [...new Array<number>(P - p.length).fill(pad), ...p]);
  const mask = prompts.map((p) => [
    ...new Array<number>(P - p.length).fill(0),
    ...new Array<number>(p.length + maxNew).fill(1),
  ]);
  const promptLen = prompts.map((p) => p.length);

  const pick = (logits: Float32Array): number[] => {
    const V = c.vocabSize;
    const out: number[] = [];
    for (let b = 0; b < B; b++) {
      if (reasons[b] !== undefined) {
        out.push(pad);
        continue;
      }
      const id = sampleToken(logits.subarray(b * V, (b + 1) * V), options, rng);
      out.push(id);
      tokens[b]?.push(id);
      if (stopIds.has(id)) reasons[b] = "eos";
      else if (options.stopStrings?.length && options.tokenizer) {
        const txt = options.tokenizer.decode(tokens[b] as number[], { skipSpecialTokens: true });
        const r = applyStopStrings(txt, options.stopStrings);
        if (r.stopped) {
          reasons[b] = "stop";
          texts[b] = r.text;
        }
      }
    }
    return out;
  };

  if (options.useCache === false) {
    for (let i = 0; i < maxNew && reasons.some((r) => r === undefined); i++) {
      const T = P + i;
      const lg = await policy.lastLogits({ tokens: seqs, attentionMask: mask.map((m) => m.slice(0, T)) });
      const next = pick(lg);
      for (const [b, id] of next.entries()) seqs[b]?.push(id);
    }
  } else {
    const dec = new Decoder(policy, B, S);
    try {
      let lg = await dec.prefill(seqs, mask);
      for (let i = 0; i < maxNew; i++) {
        const next = pick(lg);
        if (i === maxNew - 1 || reasons.every((r) => r !== undefined)) break;
        lg = await dec.step(
          next,
          promptLen.map((n) => n + i),
          P + i,
        );
      }
    } finally {
      dec.destroy();
    }
  }
  const finishReasons = reasons.map((r) => r ?? "length");
  const result: GenerateResult = { tokens, finishReasons };
  if (options.tokenizer) {
    const tk = options.tokenizer;
    result.texts = tokens.map((t, b) =>
      reasons[b] === "stop" ? (texts[b] as string) : tk.decode(t, { skipSpecialTokens: true }),
    );
  }
  return result;
}

/** KV caches for one batched generation. */
class Decoder {
  private readonly ctx: GpuContext;
  private readonly kc: Tensor[] = [];
  private readonly vc: Tensor[] = [];
  private maskT: Tensor | undefined;
  private readonly model: LayerModel;

  constructor(
    private readonly policy: Policy,
    private readonly B: number,
    private readonly S: number,
  ) {
    const c = policy.config;
    this.ctx = policy.ctx;
    this.model = { config: c, table: policy.ropeTableForDecoding, param: (name) => policy.param(name) };
    try {
      for (let l = 0; l < c.numLayers; l++) {
        this.kc.push(this.ctx.empty([B, S, c.numKvHeads, c.headDim], "f32", `kv_cache:k${l}`));
        this.vc.push(this.ctx.empty([B, S, c.numKvHeads, c.headDim], "f32", `kv_cache:v${l}`));
      }
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  /**
   * Run `ids` (`[B·Tn]`, positions `pos`) through the layers, appending K/V at row `offset`.
   * Temporaries go to `tmp` and are freed by the caller after one submit (decoding is bound by
   * per-submit overhead, not arithmetic).
   */
  private layers(ids: Int32Array, pos: Int32Array, Tn: number, offset: number, tmp: Tensor[]): Tensor {
    const c = this.policy.config;
    const ctx = this.ctx;
    const { B } = this;
    const N = B * Tn;
    const idT = ctx.tensor(ids, [N], "decode:ids");
    const posT = ctx.tensor(pos, [N], "decode:positions");
    tmp.push(idT, posT);
    const keyMask = this.maskT as Tensor;
    let x: Tensor = embedding(ctx, this.policy.param("model.embed_tokens.weight"), idT);
    for (let l = 0; l < c.numLayers; l++) {
      const cache = { k: this.kc[l] as Tensor, v: this.vc[l] as Tensor, offset };
      const input = { layer: l, x, B, T: Tn, pos: posT, keyMask, cache, scratch: tmp };
      const { acts, out } = decoderLayer(ctx, this.model, input);
      tmp.push(...layerTensors(acts));
      x = out;
    }
    tmp.push(x);
    return x;
  }

  /** Final norm + LM head on the last position of each row of x → host `[B, V]`. */
  private async head(x: Tensor, Tn: number, tmp: Tensor[]): Promise<Float32Array> {
    const c = this.policy.config;
    const ctx = this.ctx;
    const d = c.hiddenSize;
    let last = x;
    if (Tn > 1) {
      last = ctx.empty([this.B, d], "f32", "decode:last");
      tmp.push(last);
      for (let b = 0; b < this.B; b++) copyRows(ctx, x, b * Tn + Tn - 1, last, b, 1, d);
    }
    const nf = rmsnorm(ctx, last, this.policy.param("model.norm.weight"), { eps: c.rmsNormEps });
    const lm = this.policy.param(c.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight");
    const lg = matmul(ctx, nf.y, lm, { transB: true });
    tmp.push(nf.y, nf.rstd, lg);
    return (await ctx.read(lg)) as Float32Array;
  }

  async prefill(seqs: number[][], mask: number[][]): Promise<Float32Array> {
    const P = seqs[0]?.length as number;
    this.maskT = this.ctx.tensor(Int32Array.from(mask.flat()), [this.B, this.S], "decode:key_mask");
    const pos = new Int32Array(this.B * P);
    for (let b = 0; b < this.B; b++) {
      let n = 0;
      for (let t = 0; t < P; t++) {
        const real = mask[b]?.[t] === 1;
        pos[b * P + t] = real ? n : 0;
        if (real) n++;
      }
    }
    const tmp: Tensor[] = [];
    try {
      const x = this.layers(Int32Array.from(seqs.flat()), pos, P, 0, tmp);
      return await this.head(x, P, tmp);
    } finally {
      release(this.ctx, ...tmp);
    }
  }

  async step(ids: number[], positions: number[], offset: number): Promise<Float32Array> {
    const tmp: Tensor[] = [];
    try {
      const x = this.layers(Int32Array.from(ids), Int32Array.from(positions), 1, offset, tmp);
      return await this.head(x, 1, tmp);
    } finally {
      release(this.ctx, ...tmp);
    }
  }

  destroy(): void {
    release(this.ctx, ...this.kc, ...this.vc, this.maskT);
    this.kc.length = 0;
    this.vc.length = 0;
  }
}
