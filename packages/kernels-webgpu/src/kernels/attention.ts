/**
 * Causal grouped-query attention with a key mask, flash-attention style (no `[T, S]` matrix is
 * ever stored).
 *
 * Layout: q `[B, Tq, H, Dh]`, k/v `[B, S, Hkv, Dh]` (S = capacity; the first `kvLength` rows are
 * valid), `H % Hkv = 0`, `Dh % 4 = 0`. Query i sits at key position `qOffset + i` (default
 * `kvLength − Tq`: training has Tq = S = kvLength, offset 0; decoding appends Tq new queries to a
 * cache). Key j is visible to query i iff `j < kvLength`, `keyMask[b, j] ≠ 0` (optional, `[B, S]`:
 * left or right padding) and, if causal, `j ≤ qOffset + i`. A query with no visible key
 * outputs zeros and lse −1e30.
 *
 * Forward: one invocation per (b, i, h) streams the visible keys with an online softmax (running
 * max m, sum l, accumulator in registers, `Dh/4` vec4s), writes `out` and saves only the
 * log-sum-exp `lse` `[B, H, Tq]` — backward memory is O(B·H·Tq), not O(B·H·Tq·S).
 * Backward (FlashAttention-2 recomputation): kernel 1, per (b, i, h): `δ = dO·O`,
 * `dQ = scale·Σ_j P_ij (dO·v_j − δ) k_j` with `P_ij = exp(s_ij − lse_i)`; kernel 2, per (b, j, kvh):
 * `dV_j = Σ P_ij dO_i`, `dK_j = scale·Σ P_ij (dO_i·v_j − δ_i) q_i`, summed over the `H/Hkv`
 * query heads sharing the KV head and the queries that see key j, in a fixed order — no atomics.
 */
import type { GpuContext, Tensor } from "../runtime/context.js";
import { KernelError } from "../runtime/errors.js";
import { defineUniforms } from "../runtime/uniforms.js";
import {
  assertDtype,
  assertFiniteNumber,
  assertNonEmpty,
  assertRank,
  assertShape,
  cachedWgsl,
  flatMainWgsl,
  grid1d,
  shapeStr,
} from "./op-util.js";

const WG = 64;
const MAX_DH = 256;
/** Shapes, valid length, query offset, flags, score scale and the invocation count `n`. */
const PARAMS = defineUniforms({
  B: "u32",
  Tq: "u32",
  S: "u32",
  H: "u32",
  Hkv: "u32",
  L: "u32",
  off: "u32",
  causal: "u32",
  scale: "f32",
  n: "u32",
  hasMask: "u32",
});
/** kv-cache append: `n` = B·Tn·R elements, `rowLen` = Tn·R, `cacheRowLen` = S·R, `at` = offset·R (R = Hkv·Dh). */
const KV_WRITE = defineUniforms({ n: "u32", rowLen: "u32", cacheRowLen: "u32", at: "u32" });

export interface AttentionOptions {
  /** Valid cache rows (default S). */
  kvLength?: number;
  /** Key position of query 0 (default kvLength − Tq). */
  qOffset?: number;
  /** Causal mask (default true). */
  causal?: boolean;
  /** Score scale (default 1/√Dh). */
  scale?: number;
  /** `[B, S]` key mask (i32/u32 tensor or host Int32Array), non-zero = visible. */
  keyMask?: Tensor | Int32Array;
  /**
   * Head dim, required when q/k/v are rank 3 (`[B, T, H·Dh]`, `[B, S, Hkv·Dh]`: the layout a
   * batched projection `matmul` returns); rank-4 inputs carry it in their shape.
   */
  headDim?: number;
}

interface Dims {
  B: number;
  Tq: number;
  S: number;
  H: number;
  Hkv: number;
  Dh: number;
  L: number;
  off: number;
  causal: boolean;
  scale: number;
}

// The key mask is always bound (q again, never read, when there is none) and enabled by
// p.hasMask, so it does not double the number of shader variants.
const common = (d: { Dh: number }, firstBinding: number) => /* wgsl */ `
${PARAMS.declare(firstBinding, "p", "P")}
const DQ: u32 = ${d.Dh / 4}u;
fn visible(b: u32, i: u32, j: u32) -> bool {
  if (j >= p.L) { return false; }
  if (p.causal != 0u && j > p.off + i) { return false; }
  return p.hasMask == 0u || mask[b * p.S + j] != 0u;
}
fn kvBase(b: u32, j: u32, kvh: u32) -> u32 { return ((b * p.S + j) * p.Hkv + kvh) * DQ; }
fn qBase(b: u32, i: u32, h: u32) -> u32 { return ((b * p.Tq + i) * p.H + h) * DQ; }
fn flat(wid: vec3<u32>, lid: vec3<u32>, nwg: vec3<u32>) -> u32 { return (wid.x + wid.y * nwg.x) * ${WG}u + lid.x; }`;

/** Start of a per-query `main` (forward, backward dQ): invocation t → (b, i, h), its KV head and q offset. */
const queryIndex = /* wgsl */ `  let t = flat(wid, lid, nwg);
  if (t >= p.n) { return; }
  let h = t % p.H; let bi = t / p.H; let i = bi % p.Tq; let b = bi / p.Tq;
  let kvh = h / (p.H / p.Hkv);
  let qb = qBase(b, i, h);`;

export function attentionForwardWgsl(Dh: number): string {
  const m = "@group(0) @binding(3) var<storage, read> mask: array<u32>;";
  const b = 4;
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
${m}
@group(0) @binding(${b}) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(${b + 1}) var<storage, read_write> lse: array<f32>;
${common({ Dh }, b + 2)}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
${queryIndex}
  var qv: array<vec4<f32>, ${Dh / 4}>;
  var acc: array<vec4<f32>, ${Dh / 4}>;
  for (var e = 0u; e < DQ; e++) { qv[e] = q[qb + e] * p.scale; acc[e] = vec4<f32>(0.0); }
  var mx = -1e30; var l = 0.0;
  var jEnd = p.L;
  if (p.causal != 0u) { jEnd = min(jEnd, p.off + i + 1u); }
  for (var j = 0u; j < jEnd; j++) {
    if (!visible(b, i, j)) { continue; }
    let kb = kvBase(b, j, kvh);
    var s = 0.0;
    for (var e = 0u; e < DQ; e++) { s += dot(qv[e], k[kb + e]); }
    let mNew = max(mx, s);
    let corr = exp(mx - mNew);
    let pj = exp(s - mNew);
    l = l * corr + pj;
    for (var e = 0u; e < DQ; e++) { acc[e] = acc[e] * corr + pj * v[kb + e]; }
    mx = mNew;
  }
  var inv = 0.0;
  var ls = -1e30;
  if (l > 0.0) { inv = 1.0 / l; ls = mx + log(l); }
  for (var e = 0u; e < DQ; e++) { o[qb + e] = acc[e] * inv; }
  lse[(b * p.H + h) * p.Tq + i] = ls;
}`;
}

export function attentionBackwardQWgsl(Dh: number): string {
  const m = "@group(0) @binding(6) var<storage, read> mask: array<u32>;";
  const b = 7;
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> o: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
${m}
@group(0) @binding(${b}) var<storage, read_write> dq: array<vec4<f32>>;
@group(0) @binding(${b + 1}) var<storage, read_write> delta: array<f32>;
${common({ Dh }, b + 2)}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
${queryIndex}
  var qv: array<vec4<f32>, ${Dh / 4}>;
  var dov: array<vec4<f32>, ${Dh / 4}>;
  var acc: array<vec4<f32>, ${Dh / 4}>;
  var dl = 0.0;
  for (var e = 0u; e < DQ; e++) {
    qv[e] = q[qb + e] * p.scale; dov[e] = dout[qb + e]; acc[e] = vec4<f32>(0.0);
    dl += dot(dov[e], o[qb + e]);
  }
  let li = (b * p.H + h) * p.Tq + i;
  let ls = lse[li];
  var jEnd = p.L;
  if (p.causal != 0u) { jEnd = min(jEnd, p.off + i + 1u); }
  for (var j = 0u; j < jEnd; j++) {
    if (!visible(b, i, j)) { continue; }
    let kb = kvBase(b, j, kvh);
    var s = 0.0; var dp = 0.0;
    for (var e = 0u; e < DQ; e++) { s += dot(qv[e], k[kb + e]); dp += dot(dov[e], v[kb + e]); }
    let ds = exp(s - ls) * (dp - dl);
    for (var e = 0u; e < DQ; e++) { acc[e] += ds * k[kb + e]; }
  }
  for (var e = 0u; e < DQ; e++) { dq[qb + e] = acc[e] * p.scale; }
  delta[li] = dl;
}`;
}

export function attentionBackwardKVWgsl(Dh: number): string {
  const m = "@group(0) @binding(6) var<storage, read> mask: array<u32>;";
  const b = 7;
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read> delta: array<f32>;
${m}
@group(0) @binding(${b}) var<storage, read_write> dk: array<vec4<f32>>;
@group(0) @binding(${b + 1}) var<storage, read_write> dv: array<vec4<f32>>;
${common({ Dh }, b + 2)}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat(wid, lid, nwg);
  if (t >= p.n) { return; }
  let kvh = t % p.Hkv; let bj = t / p.Hkv; let j = bj % p.S; let b = bj / p.S;
  let kb = kvBase(b, j, kvh);
  var kv: array<vec4<f32>, ${Dh / 4}>;
  var vv: array<vec4<f32>, ${Dh / 4}>;
  var dka: array<vec4<f32>, ${Dh / 4}>;
  var dva: array<vec4<f32>, ${Dh / 4}>;
  for (var e = 0u; e < DQ; e++) { kv[e] = k[kb + e] * p.scale; vv[e] = v[kb + e]; dka[e] = vec4<f32>(0.0); dva[e] = vec4<f32>(0.0); }
  let G = p.H / p.Hkv;
  // First query that can see key j: i ≥ j − off under the causal mask.
  var i0 = 0u;
  if (p.causal != 0u && j > p.off) { i0 = j - p.off; }
  for (var g = 0u; g < G; g++) {
    let h = kvh * G + g;
    for (var i = i0; i < p.Tq; i++) {
      if (!visible(b, i, j)) { continue; }
      let qb = qBase(b, i, h);
      let li = (b * p.H + h) * p.Tq + i;
      var s = 0.0; var dp = 0.0;
      for (var e = 0u; e < DQ; e++) { s += dot(q[qb + e], kv[e]); dp += dot(dout[qb + e], vv[e]); }
      let pij = exp(s - lse[li]);
      let ds = pij * (dp - delta[li]);
      for (var e = 0u; e < DQ; e++) { dva[e] += pij * dout[qb + e]; dka[e] += ds * q[qb + e]; }
    }
  }
  for (var e = 0u; e < DQ; e++) { dk[kb + e] = dka[e] * p.scale; dv[kb + e] = dva[e]; }
}`;
}

function checkAttention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions, kernel: string): Dims {
  for (const [t, n] of [
    [q, "q"],
    [k, "k"],
    [v, "v"],
  ] as const) {
    assertDtype(t, ["f32"], n, kernel);
    assertRank(t, [o.headDim === undefined ? 4 : 3], n, kernel);
    assertNonEmpty(t, n, kernel);
  }
  assertShape(v, k.shape, "v", kernel);
  const split = (t: Tensor, what: string): [number, number, number, number] => {
    if (o.headDim === undefined) return t.shape as [number, number, number, number];
    const [b, n, hd] = t.shape as [number, number, number];
    const Dh = o.headDim;
    if (!Number.isInteger(Dh) || Dh < 1 || hd % Dh !== 0) {
      throw KernelError.mismatch(
        "SHAPE_MISMATCH",
        `last dim of ${what} ${shapeStr(t.shape)}`,
        `a multiple of headDim ${Dh}`,
        hd,
        kernel,
      );
    }
    return [b, n, hd / Dh, Dh];
  };
  const [B, Tq, H, Dh] = split(q, "q");
  const [Bk, S, Hkv, Dk] = split(k, "k");
  if (Bk !== B || Dk !== Dh) {
    throw KernelError.mismatch(
      "SHAPE_MISMATCH",
      "k",
      `[${B}, S, Hkv, ${Dh}] (batch and head dim of q)`,
      shapeStr(k.shape),
      kernel,
    );
  }
  if (H % Hkv !== 0) {
    throw KernelError.mismatch(
      "SHAPE_MISMATCH",
      "KV heads",
      `a divisor of the ${H} query heads`,
      Hkv,
      kernel,
    );
  }
  if (Dh % 4 !== 0 || Dh > MAX_DH) {
    throw KernelError.mismatch(
      "ARGUMENT_INVALID",
      "head dim",
      `a multiple of 4, at most ${MAX_DH}`,
      Dh,
      kernel,
    );
  }
  const L = o.kvLength ?? S;
  if (!Number.isInteger(L) || L < 1 || L > S) {
    throw KernelError.mismatch(
      "VALUE_OUT_OF_RANGE",
      "kvLength",
      `an integer in [1, ${S}] (cache capacity)`,
      L,
      kernel,
    );
  }
  const off = o.qOffset ?? L - Tq;
  if (!Number.isInteger(off) || off < 0) {
    throw KernelError.mismatch(
      "VALUE_OUT_OF_RANGE",
      "qOffset",
      `a non-negative integer (kvLength ${L} − Tq ${Tq} by default)`,
      off,
      kernel,
    );
  }
  const scale = o.scale ?? 1 / Math.sqrt(Dh);
  assertFiniteNumber(scale, "scale", kernel);
  if (o.keyMask instanceof Int32Array) {
    if (o.keyMask.length !== B * S) {
      throw KernelError.mismatch(
        "SHAPE_MISMATCH",
        "keyMask",
        `${B * S} entries ([B, S])`,
        o.keyMask.length,
        kernel,
      );
    }
  } else if (o.keyMask) {
    assertDtype(o.keyMask, ["i32", "u32"], "keyMask", kernel);
    assertShape(o.keyMask, [B, S], "keyMask", kernel);
  }
  return { B, Tq, S, H, Hkv, Dh, L, off, causal: o.causal ?? true, scale };
}

function params(d: Dims, n: number, hasMask: boolean, kernel: string): Uint32Array {
  const { B, Tq, S, H, Hkv, L, off, scale } = d;
  return PARAMS.data(
    { B, Tq, S, H, Hkv, L, off, causal: d.causal ? 1 : 0, scale, n, hasMask: hasMask ? 1 : 0 },
    kernel,
  );
}

function maskTensor(ctx: GpuContext, m: AttentionOptions["keyMask"], d: Dims): Tensor | undefined {
  if (m instanceof Int32Array) return ctx.tensor(m, [d.B, d.S], "attention:mask");
  return m;
}

export interface AttentionResult {
  /** `[B, Tq, H, Dh]`. */
  out: Tensor<"f32">;
  /** Log-sum-exp of the scaled scores, `[B, H, Tq]` (−1e30 for a query with no visible key). */
  lse: Tensor<"f32">;
}

/** Causal GQA attention forward; returns the output and the `lse` that backward needs. */
export function attention(
  ctx: GpuContext,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: AttentionOptions = {},
): AttentionResult {
  const kernel = "attention";
  const d = checkAttention(q, k, v, options, kernel);
  const mask = maskTensor(ctx, options.keyMask, d);
  const out = ctx.empty(q.shape, "f32", "attention:out");
  const lse = ctx.empty([d.B, d.H, d.Tq], "f32", "attention:lse");
  const n = d.B * d.Tq * d.H;
  ctx.run({
    kernel,
    code: cachedWgsl(`attention:${d.Dh}`, () => attentionForwardWgsl(d.Dh)),
    bindings: [q, k, v, mask ?? q, out, lse, params(d, n, mask !== undefined, kernel)],
    workgroups: grid1d(ctx, n, WG),
  });
  if (mask && mask !== options.keyMask) {
    ctx.flush();
    mask.destroy();
  }
  return { out, lse };
}

/** Backward of {@link attention}: dQ `[B, Tq, H, Dh]`, dK and dV `[B, S, Hkv, Dh]` (zero past kvLength). */
export function attentionBackward(
  ctx: GpuContext,
  dOut: Tensor,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  fwd: AttentionResult,
  options: AttentionOptions = {},
): { dq: Tensor<"f32">; dk: Tensor<"f32">; dv: Tensor<"f32"> } {
  const kernel = "attention_backward";
  const d = checkAttention(q, k, v, options, kernel);
  assertDtype(dOut, ["f32"], "dOut", kernel);
  assertShape(dOut, q.shape, "dOut", kernel);
  assertShape(fwd.out, q.shape, "out", kernel);
  assertShape(fwd.lse, [d.B, d.H, d.Tq], "lse", kernel);
  const mask = maskTensor(ctx, options.keyMask, d);
  const m = mask ?? q;
  const hasMask = mask !== undefined;
  const dq = ctx.empty(q.shape, "f32", "attention:dq");
  const dk = ctx.empty(k.shape, "f32", "attention:dk");
  const dv = ctx.empty(v.shape, "f32", "attention:dv");
  const delta = ctx.empty([d.B, d.H, d.Tq], "f32", "attention:delta");
  const nq = d.B * d.Tq * d.H;
  ctx.run({
    kernel: "attention_backward_q",
    code: cachedWgsl(`attention_bq:${d.Dh}`, () => attentionBackwardQWgsl(d.Dh)),
    bindings: [q, k, v, fwd.out, dOut, fwd.lse, m, dq, delta, params(d, nq, hasMask, "attention_backward_q")],
    workgroups: grid1d(ctx, nq, WG),
  });
  const nk = d.B * d.S * d.Hkv;
  ctx.run({
    kernel: "attention_backward_kv",
    code: cachedWgsl(`attention_bkv:${d.Dh}`, () => attentionBackwardKVWgsl(d.Dh)),
    bindings: [q, k, v, dOut, fwd.lse, delta, m, dk, dv, params(d, nk, hasMask, "attention_backward_kv")],
    workgroups: grid1d(ctx, nk, WG),
  });
  ctx.flush();
  delta.destroy();
  if (mask && mask !== options.keyMask) mask.destroy();
  return { dq, dk, dv };
}

export function kvCacheWriteWgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> cache: array<f32>;
${KV_WRITE.declare(2, "u")}
${flatMainWgsl(256, "i", "u.n")}
  let b = i / u.rowLen; let r = i - b * u.rowLen;
  cache[b * u.cacheRowLen + u.at + r] = src[i];
}`;
}

/**
 * Write new keys or values `[B, Tn, Hkv, Dh]` (or `[B, Tn, Hkv·Dh]`) into a cache `[B, S, Hkv, Dh]`
 * (or `[B, S, Hkv·Dh]`) at rows
 * `offset … offset + Tn − 1` (the sampler's KV-cache append).
 */
export function kvCacheWrite(ctx: GpuContext, cache: Tensor, src: Tensor, offset: number): void {
  const kernel = "kv_cache_write";
  assertDtype(cache, ["f32"], "cache", kernel);
  assertDtype(src, ["f32"], "src", kernel);
  assertRank(cache, [3, 4], "cache", kernel);
  assertRank(src, [cache.shape.length], "src", kernel);
  const [B, S] = cache.shape as [number, number];
  const R = cache.size / (B * S);
  const Tn = src.shape[1] as number;
  assertShape(src, [B, Tn, ...cache.shape.slice(2)], "src", kernel);
  if (!Number.isInteger(offset) || offset < 0 || offset + Tn > S) {
    throw KernelError.mismatch(
      "VALUE_OUT_OF_RANGE",
      "cache offset",
      `an integer in [0, ${S - Tn}] (capacity ${S})`,
      offset,
      kernel,
    );
  }
  ctx.run({
    kernel,
    code: cachedWgsl("kv_cache_write", kvCacheWriteWgsl),
    bindings: [
      src,
      cache,
      KV_WRITE.data({ n: B * Tn * R, rowLen: Tn * R, cacheRowLen: S * R, at: offset * R }, kernel),
    ],
    workgroups: grid1d(ctx, B * Tn * R, 256),
  });
}
