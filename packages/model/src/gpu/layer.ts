/**
 * One pre-norm decoder layer (RMSNorm → q/k/v → RoPE → attention → o_proj + residual, RMSNorm →
 * SwiGLU MLP + residual), shared by the training forward (`Policy`, full causal attention over the
 * sequence, activations kept for backward) and the KV-cache decoder (`generate`, new K/V written
 * into the caches at an offset and attended over the valid rows, everything freed after a submit).
 *
 * Layout: `x` is `[N, d]` with N = B·T, row n = b·T + t; linear weights are HF `[out, in]`.
 */
import {
  add as addT,
  attention,
  type GpuContext,
  kvCacheWrite,
  matmul,
  type RopeTable,
  rmsnorm,
  rope,
  swiglu,
  type Tensor,
} from "@sage/kernels-webgpu";
import type { ModelConfig } from "../config.js";
import { release, view } from "./util.js";

/** What one layer's forward produced and backward reads. */
export interface LayerActs {
  x: Tensor; // input of the layer [N, d] (owned by the previous layer / embedding)
  h1: Tensor;
  rstd1: Tensor;
  q: Tensor; // after RoPE [B, T, nH, hd]
  k: Tensor; // after RoPE [B, T, nKV, hd]
  v: Tensor; // [N, nKV·hd] (viewed as [B, T, nKV, hd])
  o: Tensor<"f32">; // attention output [B, T, nH, hd]
  lse: Tensor<"f32">; // attention log-sum-exp [B, nH, T]
  x2: Tensor;
  h2: Tensor;
  rstd2: Tensor;
  g: Tensor;
  u: Tensor;
  m: Tensor;
}

/** The model-wide pieces a layer needs. */
export interface LayerModel {
  readonly config: ModelConfig;
  readonly table: RopeTable;
  /** Parameter by its full HF name (`model.layers.{l}.…`). */
  readonly param: (name: string) => Tensor<"f32">;
}

/** Per-layer K/V caches `[B, S, nKV, hd]`: the new rows are written at `offset`, then attended. */
export interface LayerKvCache {
  readonly k: Tensor;
  readonly v: Tensor;
  readonly offset: number;
}

export interface LayerInput {
  /** Layer index. */
  readonly layer: number;
  /** `[B·T, d]` hidden states of the T new positions. */
  readonly x: Tensor;
  readonly B: number;
  readonly T: number;
  /** `[B·T]` i32 position ids. */
  readonly pos: Tensor;
  /** `[B, T]` i32 key mask (`[B, S]` with a cache). */
  readonly keyMask: Tensor;
  /** Absent: causal attention over the T positions. Present: write K/V at `offset`, attend over `offset + T` rows. */
  readonly cache?: LayerKvCache;
  /**
   * Where the intermediates outside `LayerActs` (pre-RoPE q/k, attention and MLP projections) go.
   * Absent: released as soon as they are used (training). Present: appended here, for the caller
   * to release after one submit (decoding).
   */
  readonly scratch?: Tensor[];
}

/** One decoder layer on `input.x`: its activations (with `x` as `acts.x`) and its output `[B·T, d]`. */
export function decoderLayer(
  ctx: GpuContext,
  model: LayerModel,
  input: LayerInput,
): { acts: LayerActs; out: Tensor } {
  const c = model.config;
  const { x, B, T, pos, keyMask, cache, scratch } = input;
  const N = B * T;
  const hd = c.headDim;
  const done = (...ts: Tensor[]): void => {
    if (scratch) scratch.push(...ts);
    else release(ctx, ...ts);
  };
  const pre = `model.layers.${input.layer}.`;
  const P = (n: string) => model.param(pre + n);
  const bias = (n: string) => (c.qkvBias ? { bias: P(`self_attn.${n}_proj.bias`) } : {});
  const n1 = rmsnorm(ctx, x, P("input_layernorm.weight"), { eps: c.rmsNormEps });
  const q0 = matmul(ctx, n1.y, P("self_attn.q_proj.weight"), { transB: true, ...bias("q") });
  const k0 = matmul(ctx, n1.y, P("self_attn.k_proj.weight"), { transB: true, ...bias("k") });
  const v0 = matmul(ctx, n1.y, P("self_attn.v_proj.weight"), { transB: true, ...bias("v") });
  const q = rope(ctx, view(q0, [B, T, c.numHeads, hd]), pos, model.table);
  const k = rope(ctx, view(k0, [B, T, c.numKvHeads, hd]), pos, model.table);
  const v = view(v0, [B, T, c.numKvHeads, hd], "v");
  done(q0, k0);
  if (cache) {
    kvCacheWrite(ctx, cache.k, k, cache.offset);
    kvCacheWrite(ctx, cache.v, v, cache.offset);
  }
  const { out: o, lse } = cache
    ? attention(ctx, q, cache.k, cache.v, { kvLength: cache.offset + T, keyMask })
    : attention(ctx, q, k, v, { keyMask });
  const a = matmul(ctx, view(o, [N, c.numHeads * hd]), P("self_attn.o_proj.weight"), { transB: true });
  const x2 = addT(ctx, x, a);
  done(a);
  const n2 = rmsnorm(ctx, x2, P("post_attention_layernorm.weight"), { eps: c.rmsNormEps });
  const g = matmul(ctx, n2.y, P("mlp.gate_proj.weight"), { transB: true });
  const u = matmul(ctx, n2.y, P("mlp.up_proj.weight"), { transB: true });
  const m = swiglu(ctx, g, u);
  const mlp = matmul(ctx, m, P("mlp.down_proj.weight"), { transB: true });
  const out = addT(ctx, x2, mlp);
  done(mlp);
  const acts = { x, h1: n1.y, rstd1: n1.rstd, q, k, v: v0, o, lse, x2, h2: n2.y, rstd2: n2.rstd, g, u, m };
  return { acts, out };
}

/** Every tensor of `L` (its input `x` included). */
export function layerTensors(L: LayerActs): Tensor[] {
  return [L.x, L.h1, L.rstd1, L.q, L.k, L.v, L.o, L.lse, L.x2, L.h2, L.rstd2, L.g, L.u, L.m];
}

/** Release every tensor of `L` (its input `x` included). */
export function releaseLayer(ctx: GpuContext, L: LayerActs): void {
  release(ctx, ...layerTensors(L));
}
