/**
 * Sequence reductions of token log-probs over response tokens.
 *
 * Sequences are `[start, end)` ranges over a flat token axis (packed batches), or the rows of a
 * padded `[S, T]` batch. An optional per-token weight `mask` (f32 weights or u32 0/1) selects the
 * response tokens (prompt and padding weigh 0). Per sequence s:
 *   count[s] = Σ_{n∈s} w[n],  sum[s] = Σ_{n∈s} w[n]·logp[n],  mean[s] = sum[s] / count[s] (0 if count is 0).
 * Backward: dlogp[n] = w[n]·(gSum[s] + gMean[s] / count[s]) for n in sequence s, 0 outside all ranges.
 *
 * K weighted masks at once ({@link maskedSequenceSums}): with extra weights `d[k, n]` (e.g. seeded
 * token-dropout masks) per k and s: kept = Σ w·d, sum = (Σ w·d·logp)·count/kept (0 if kept is 0)
 * — sums rescaled by the kept fraction, for SAGE's K perturbed margins from one forward pass.
 *
 * Kernel: one workgroup per (k, s), a strided loop over the range then a shared-memory tree; the
 * (k, s) grid folds into 2-D above 65,535 workgroups. Bindings (forward): logp, ranges (u32 pairs),
 * [mask], [dropout masks], sum, second (mean or kept), count, params.
 */
import type { GpuContext, Tensor } from "../runtime/context.js";
import { KernelError } from "../runtime/errors.js";
import { defineUniforms } from "../runtime/uniforms.js";
import { checkTensor, grid } from "./logprob.js";
import { assertShape as checkShape, checkWorkgroupSize, shapeStr } from "./op-util.js";

/** S sequences, K weight rows, N tokens (both kernels; the backward has K = 1). */
const PARAMS = defineUniforms({ S: "u32", K: "u32", N: "u32" });

export interface SeqReduceKernelParams {
  workgroupSize: number;
  /** Per-token mask dtype, or none (all weights 1). */
  mask: "f32" | "u32" | "none";
  /** K extra weight rows [K, N] (dropout masks) — rescaled-sum mode. */
  multi: boolean;
}

/** WGSL of the forward reduction. */
export function seqReduceWgsl({ workgroupSize: WG, mask, multi }: SeqReduceKernelParams): string {
  let b = 2;
  const maskDecl =
    mask === "none" ? "" : `@group(0) @binding(${b++}) var<storage, read> mask: array<${mask}>;\n`;
  const multiDecl = multi ? `@group(0) @binding(${b++}) var<storage, read> drop: array<f32>;\n` : "";
  const w = mask === "none" ? "1.0" : mask === "u32" ? "f32(mask[n])" : "mask[n]";
  return /* wgsl */ `
// Masked per-sequence sums of token log-probs${multi ? " under K dropout masks (rescaled by kept fraction)" : ""}.
@group(0) @binding(0) var<storage, read> logp: array<f32>;
@group(0) @binding(1) var<storage, read> ranges: array<u32>;
${maskDecl}${multiDecl}@group(0) @binding(${b++}) var<storage, read_write> outSum: array<f32>;
@group(0) @binding(${b++}) var<storage, read_write> outSecond: array<f32>;
@group(0) @binding(${b++}) var<storage, read_write> outCount: array<f32>;
${PARAMS.declare(b++, "P")}
var<workgroup> a0: array<f32, ${WG}>;
var<workgroup> a1: array<f32, ${WG}>;
var<workgroup> a2: array<f32, ${WG}>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let idx = wid.x + wid.y * nwg.x;   // k * S + s
  if (idx >= P.S * P.K) { return; }
  let s = idx % P.S;
  let k = idx / P.S;
  let start = ranges[2u * s];
  let end = ranges[2u * s + 1u];
  var sw = 0.0;   // Σ w·d·logp
  var cw = 0.0;   // Σ w   (base count)
  var kw = 0.0;   // Σ w·d (kept)
  for (var n = start + lid; n < end; n += ${WG}u) {
    let w = ${w};
    let d = ${multi ? "drop[k * P.N + n]" : "1.0"};
    sw += w * d * logp[n];
    cw += w;
    kw += w * d;
  }
  a0[lid] = sw;
  a1[lid] = cw;
  a2[lid] = kw;
  workgroupBarrier();
  for (var h = ${WG / 2}u; h > 0u; h = h >> 1u) {
    if (lid < h) {
      a0[lid] += a0[lid + h];
      a1[lid] += a1[lid + h];
      a2[lid] += a2[lid + h];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let sum = a0[0];
    let count = a1[0];
    let kept = a2[0];
${
  multi
    ? `    outSum[idx] = select(0.0, sum * count / kept, kept != 0.0);
    outSecond[idx] = kept;`
    : `    outSum[idx] = sum;
    outSecond[idx] = select(0.0, sum / count, count != 0.0);`
}
    outCount[idx] = count;
  }
}`;
}

/** WGSL of the backward: dlogp[n] = w[n]·(gSum[s] + gMean[s]/count[s]) over each range. */
export function seqReduceBackwardWgsl({
  workgroupSize: WG,
  mask,
}: Omit<SeqReduceKernelParams, "multi">): string {
  const maskDecl = mask === "none" ? "" : `@group(0) @binding(3) var<storage, read> mask: array<${mask}>;\n`;
  const w = mask === "none" ? "1.0" : mask === "u32" ? "f32(mask[n])" : "mask[n]";
  const o = mask === "none" ? 3 : 4;
  return /* wgsl */ `
// Backward of masked per-sequence sums and means: broadcast g to tokens × mask.
@group(0) @binding(0) var<storage, read> ranges: array<u32>;
@group(0) @binding(1) var<storage, read> gSum: array<f32>;
@group(0) @binding(2) var<storage, read> gMean: array<f32>;
${maskDecl}@group(0) @binding(${o}) var<storage, read_write> dlogp: array<f32>;
${PARAMS.declare(o + 1, "P")}
var<workgroup> a: array<f32, ${WG}>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let s = wid.x + wid.y * nwg.x;
  if (s >= P.S) { return; }
  let start = ranges[2u * s];
  let end = ranges[2u * s + 1u];
  var c = 0.0;
  for (var n = start + lid; n < end; n += ${WG}u) { c += ${w}; }
  a[lid] = c;
  workgroupBarrier();
  for (var h = ${WG / 2}u; h > 0u; h = h >> 1u) {
    if (lid < h) { a[lid] += a[lid + h]; }
    workgroupBarrier();
  }
  let count = a[0];
  let coef = gSum[s] + select(0.0, gMean[s] / count, count != 0.0);
  for (var n = start + lid; n < end; n += ${WG}u) { dlogp[n] = ${w} * coef; }
}`;
}

// ------------------------------------------------------------------ ops

/** Which tokens belong to which sequence, and which of them count. */
export interface SequenceSpec {
  /**
   * `[S, 2]` flat `(start, end)` pairs (end exclusive) into the token axis of a packed batch
   * (host data). Omit for a padded batch: then `logp` is `[S, T]` and sequence s is row s.
   */
  ranges?: Int32Array | Uint32Array;
  /** Per-token weights, same element count as `logp`: f32 weights or u32 0/1 (tensor or host array). Default all 1. */
  mask?: Tensor | Float32Array | Uint32Array;
}

export interface SeqReduceOptions {
  /** Invocations per workgroup (power of two, 32–1024). Default: 64 on software adapters, 256 otherwise. */
  workgroupSize?: number;
}

export interface SequenceLogprobsResult {
  /** [S] Σ w·logp over each sequence. */
  sum: Tensor<"f32">;
  /** [S] sum / count (0 where count is 0). */
  mean: Tensor<"f32">;
  /** [S] Σ w (the response length for a 0/1 mask). */
  count: Tensor<"f32">;
}

export interface MaskedSequenceSumsResult {
  /** [K, S] Σ w·d·logp rescaled by count / kept (0 where kept is 0). */
  sum: Tensor<"f32">;
  /** [K, S] Σ w·d. */
  kept: Tensor<"f32">;
  /** [K, S] Σ w (the same for every k). */
  count: Tensor<"f32">;
}

const FWD = "sequence_logprobs";
const BWD = "sequence_logprobs_backward";
const MULTI = "masked_sequence_sums";

interface Resolved {
  N: number;
  S: number;
  ranges: Uint32Array;
  mask: Tensor | undefined;
  ownMask: boolean;
  maskKind: "f32" | "u32" | "none";
  wg: number;
}

function resolve(
  ctx: GpuContext,
  shape: readonly number[],
  spec: SequenceSpec,
  opts: SeqReduceOptions,
  kernel: string,
  disjoint: boolean,
): Resolved {
  const N = shape.reduce((a, b) => a * b, 1);
  if (N === 0)
    throw KernelError.mismatch(
      "TENSOR_EMPTY",
      "token log-probs",
      "at least one token",
      shapeStr(shape),
      kernel,
    );
  let ranges: Uint32Array;
  if (spec.ranges !== undefined) {
    const r = spec.ranges;
    if (!(r instanceof Int32Array || r instanceof Uint32Array)) {
      throw KernelError.mismatch(
        "DTYPE_MISMATCH",
        "ranges",
        "an Int32Array or Uint32Array of (start, end) pairs",
        r,
        kernel,
      );
    }
    if (shape.length !== 1) {
      throw KernelError.mismatch(
        "SHAPE_MISMATCH",
        "token log-probs with ranges",
        "rank 1 [N]",
        shapeStr(shape),
        kernel,
      );
    }
    if (r.length === 0 || r.length % 2 !== 0) {
      throw KernelError.mismatch(
        r.length === 0 ? "TENSOR_EMPTY" : "SHAPE_MISMATCH",
        "ranges",
        "a non-empty even length [S, 2]",
        `length ${r.length}`,
        kernel,
      );
    }
    const S = r.length / 2;
    const order: number[] = [];
    for (let s = 0; s < S; s++) {
      const a = r[2 * s] as number;
      const b = r[2 * s + 1] as number;
      if (!(a >= 0 && a <= b && b <= N)) {
        throw KernelError.mismatch(
          "VALUE_OUT_OF_RANGE",
          `range ${s}`,
          `0 ≤ start ≤ end ≤ ${N}`,
          [a, b],
          kernel,
        );
      }
      order.push(s);
    }
    if (disjoint) {
      order.sort((x, y) => (r[2 * x] as number) - (r[2 * y] as number));
      for (let i = 1; i < S; i++) {
        const prev = order[i - 1] as number;
        const cur = order[i] as number;
        if ((r[2 * cur] as number) < (r[2 * prev + 1] as number)) {
          throw KernelError.mismatch(
            "ARGUMENT_INVALID",
            `ranges ${prev} and ${cur}`,
            "disjoint ranges for the backward",
            [
              [r[2 * prev], r[2 * prev + 1]],
              [r[2 * cur], r[2 * cur + 1]],
            ],
            kernel,
          );
        }
      }
    }
    ranges = Uint32Array.from(r);
  } else {
    if (shape.length !== 2) {
      throw KernelError.mismatch(
        "SHAPE_MISMATCH",
        "token log-probs without ranges",
        "rank 2 [S, T] (padded batch)",
        shapeStr(shape),
        kernel,
      );
    }
    const [S, T] = shape as [number, number];
    ranges = new Uint32Array(2 * S);
    for (let s = 0; s < S; s++) {
      ranges[2 * s] = s * T;
      ranges[2 * s + 1] = (s + 1) * T;
    }
  }
  let mask: Tensor | undefined;
  let ownMask = false;
  let maskKind: Resolved["maskKind"] = "none";
  const m = spec.mask;
  if (m !== undefined) {
    if (ArrayBuffer.isView(m)) {
      if (!(m instanceof Float32Array || m instanceof Uint32Array)) {
        throw KernelError.mismatch("DTYPE_MISMATCH", "mask", "a Float32Array or Uint32Array", m, kernel);
      }
      if (m.length !== N)
        throw KernelError.mismatch(
          "SHAPE_MISMATCH",
          "mask",
          `${N} elements (one per token)`,
          `${m.length}`,
          kernel,
        );
      if (m instanceof Float32Array) {
        const bad = m.findIndex((x) => !Number.isFinite(x));
        if (bad >= 0)
          throw KernelError.mismatch("VALUE_NON_FINITE", `mask[${bad}]`, "a finite weight", m[bad], kernel);
      }
      mask = ctx.tensor(m, [N], `${kernel}:mask`);
      ownMask = true;
    } else {
      checkTensor(m, ["f32", "u32"], "mask", kernel);
      if (m.size !== N) {
        throw KernelError.mismatch(
          "SHAPE_MISMATCH",
          `mask '${m.label}'`,
          `${N} elements (shape ${shapeStr(shape)})`,
          shapeStr(m.shape),
          kernel,
        );
      }
      mask = m;
    }
    maskKind = mask.dtype as "f32" | "u32";
  }
  let wg: number;
  try {
    wg = checkWorkgroupSize(ctx, opts.workgroupSize ?? (ctx.report?.isSoftware ? 64 : 256), kernel);
  } catch (e) {
    if (ownMask) mask?.destroy();
    throw e;
  }
  return { N, S: ranges.length / 2, ranges, mask, ownMask, maskKind, wg };
}

function checkLogp(logp: Tensor, kernel: string): void {
  checkTensor(logp, ["f32"], "token log-probs", kernel);
}

function reduce(
  ctx: GpuContext,
  logp: Tensor,
  spec: SequenceSpec,
  opts: SeqReduceOptions,
  kernel: string,
  drop: Tensor | Float32Array | undefined,
  K: number,
): [Tensor<"f32">, Tensor<"f32">, Tensor<"f32">] {
  checkLogp(logp, kernel);
  const r = resolve(ctx, logp.shape, spec, opts, kernel, false);
  const multi = drop !== undefined;
  let dropT: Tensor | undefined;
  let ownDrop = false;
  const outs: Tensor<"f32">[] = [];
  const rangesT = ctx.tensor(r.ranges, [r.S, 2], `${kernel}:ranges`);
  try {
    if (drop !== undefined) {
      if (ArrayBuffer.isView(drop)) {
        if (!(drop instanceof Float32Array))
          throw KernelError.mismatch("DTYPE_MISMATCH", "masks", "a Float32Array [K, N]", drop, kernel);
        if (drop.length !== K * r.N)
          throw KernelError.mismatch(
            "SHAPE_MISMATCH",
            "masks",
            `${K}·${r.N} = ${K * r.N} elements [K, N]`,
            `${drop.length}`,
            kernel,
          );
        dropT = ctx.tensor(drop, [K, r.N], `${kernel}:masks`);
        ownDrop = true;
      } else {
        checkTensor(drop, ["f32"], "masks", kernel);
        checkShape(drop, [K, r.N], "masks", kernel);
        dropT = drop;
      }
    }
    const outShape = multi ? [K, r.S] : [r.S];
    for (const name of ["sum", multi ? "kept" : "mean", "count"])
      outs.push(ctx.empty(outShape, "f32", `${kernel}:${name}`));
    const bindings = [
      logp,
      rangesT,
      ...(r.mask ? [r.mask] : []),
      ...(dropT ? [dropT] : []),
      ...outs,
      PARAMS.data({ S: r.S, K, N: r.N }, kernel),
    ];
    ctx.run({
      kernel,
      code: seqReduceWgsl({ workgroupSize: r.wg, mask: r.maskKind, multi }),
      bindings,
      workgroups: grid(ctx, K * r.S),
    });
  } catch (e) {
    for (const o of outs) o.destroy();
    throw e;
  } finally {
    ctx.flush();
    rangesT.destroy();
    if (r.ownMask) r.mask?.destroy();
    if (ownDrop) dropT?.destroy();
  }
  return outs as [Tensor<"f32">, Tensor<"f32">, Tensor<"f32">];
}

/**
 * Per-sequence masked sums, means and counts of token log-probs. `logp` is `[N]` with
 * `spec.ranges`, or `[S, T]` (padded batch) without. Returns new [S] tensors (caller destroys).
 */
export function sequenceLogprobs(
  ctx: GpuContext,
  logp: Tensor,
  spec: SequenceSpec = {},
  options: SeqReduceOptions = {},
): SequenceLogprobsResult {
  const [sum, mean, count] = reduce(ctx, logp, spec, options, FWD, undefined, 1);
  return { sum, mean, count };
}

/**
 * K weighted masks over the same token log-probs (e.g. seeded token-dropout masks `[K, N]` of
 * 0/1): per (k, s) the masked sum rescaled by the kept fraction. Forward only (used for scores).
 */
export function maskedSequenceSums(
  ctx: GpuContext,
  logp: Tensor,
  spec: SequenceSpec,
  masks: Tensor | Float32Array,
  K: number,
  options: SeqReduceOptions = {},
): MaskedSequenceSumsResult {
  if (!Number.isInteger(K) || K < 1)
    throw KernelError.mismatch("ARGUMENT_INVALID", "K", "a positive integer", K, MULTI);
  const [sum, kept, count] = reduce(ctx, logp, spec, options, MULTI, masks, K);
  return { sum, kept, count };
}

/**
 * Gradient of `Σ_s gSum[s]·sum[s] + gMean[s]·mean[s]` w.r.t. the token log-probs: a new tensor
 * shaped like the forward's `logp` (`shape`), zero outside every range. Ranges must be disjoint.
 * Pass `gSum` and/or `gMean` ([S] tensors or Float32Arrays); a missing one counts as zeros.
 */
export function sequenceLogprobsBackward(
  ctx: GpuContext,
  shape: readonly number[],
  spec: SequenceSpec,
  grads: { gSum?: Tensor | Float32Array; gMean?: Tensor | Float32Array },
  options: SeqReduceOptions = {},
): Tensor<"f32"> {
  const r = resolve(ctx, shape, spec, options, BWD, true);
  const temps: Tensor[] = [];
  let out: Tensor<"f32"> | undefined;
  try {
    if (!grads.gSum && !grads.gMean) {
      throw KernelError.mismatch("ARGUMENT_INVALID", "grads", "gSum and/or gMean", grads, BWD);
    }
    const g = (x: Tensor | Float32Array | undefined, name: string): Tensor => {
      if (x === undefined || ArrayBuffer.isView(x)) {
        if (x !== undefined && !(x instanceof Float32Array))
          throw KernelError.mismatch("DTYPE_MISMATCH", name, "a Float32Array or f32 tensor", x, BWD);
        if (x !== undefined && x.length !== r.S)
          throw KernelError.mismatch(
            "SHAPE_MISMATCH",
            name,
            `${r.S} values (one per sequence)`,
            `${x.length}`,
            BWD,
          );
        const t = ctx.tensor(x ?? new Float32Array(r.S), [r.S], `${BWD}:${name}`);
        temps.push(t);
        return t;
      }
      checkTensor(x, ["f32"], name, BWD);
      checkShape(x, [r.S], name, BWD);
      return x;
    };
    const gs = g(grads.gSum, "gSum");
    const gm = g(grads.gMean, "gMean");
    const rangesT = ctx.tensor(r.ranges, [r.S, 2], `${BWD}:ranges`);
    temps.push(rangesT);
    out = ctx.empty(shape, "f32", `${BWD}:dlogp`);
    ctx.run({
      kernel: BWD,
      code: seqReduceBackwardWgsl({ workgroupSize: r.wg, mask: r.maskKind }),
      bindings: [
        rangesT,
        gs,
        gm,
        ...(r.mask ? [r.mask] : []),
        out,
        PARAMS.data({ S: r.S, K: 1, N: r.N }, BWD),
      ],
      workgroups: grid(ctx, r.S),
    });
  } catch (e) {
    out?.destroy();
    throw e;
  } finally {
    ctx.flush();
    for (const t of temps) t.destroy();
    if (r.ownMask) r.mask?.destroy();
  }
  return out;
}
