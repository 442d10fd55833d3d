/**
 * RMSNorm (Llama/Qwen2): `y = w ⊙ x·rstd`, `rstd = 1/√(mean(x²) + eps)` over the last dimension.
 *
 * Forward: one workgroup of 64 per row (strided sum of squares, tree reduction in workgroup
 * memory), saves `rstd` `[R]` for backward. Backward (per row, same reduction):
 * `dx = rstd·(g − x̂·mean(g ⊙ x̂))` with `g = dy ⊙ w`, `x̂ = x·rstd`. The weight gradient
 * `dw[d] = Σ_r dy[r,d]·x̂[r,d]` is reduced over rows deterministically in two passes: partial sums
 * over fixed chunks of 64 rows (one invocation per (chunk, column)), then a per-column sum of
 * the chunk partials in chunk order — no atomics, bit-reproducible.
 *
 * On software adapters (lavapipe runs a workgroup's invocations as SIMD lanes and serialises at
 * barriers) the forward and backward row kernels use one invocation per row instead (a plain
 * sequential sum over the row, no workgroup memory or barriers): {@link rmsnormRowWgsl}.
 */
import type { GpuContext, Tensor } from "../runtime/context.js";
import { KernelError } from "../runtime/errors.js";
import { defineUniforms } from "../runtime/uniforms.js";
import {
  assertAccumulateTarget,
  assertDtype,
  assertFiniteNumber,
  assertNonEmpty,
  assertShape,
  cachedWgsl,
  flatMainWgsl,
  grid1d,
  outputTensor,
  shapeStr,
  storageWgsl,
} from "./op-util.js";

const WG = 64;
const CHUNK = 64;
/** Row kernels: R rows of D; `eps` is read by the forward only. */
const ROWS = defineUniforms({ R: "u32", D: "u32", eps: "f32" });
/** Weight-gradient partials: R rows of D, `n` = chunks·D outputs. */
const PARTIAL = defineUniforms({ R: "u32", D: "u32", n: "u32" });
/** Weight-gradient reduce: `chunks` partial rows of D. */
const REDUCE = defineUniforms({ chunks: "u32", D: "u32" });

/** Bindings of the forward row kernels: x, w, y, rstd, params. */
const forwardBindings = /* wgsl */ `
${storageWgsl([
  ["x", "read"],
  ["w", "read"],
  ["y", "read_write"],
  ["rstd", "read_write"],
])}
${ROWS.declare(4, "u")}`;

/** Bindings of the backward row kernels: dy, x, w, rstd, dx, params. */
const backwardBindings = /* wgsl */ `
${storageWgsl([
  ["dy", "read"],
  ["x", "read"],
  ["w", "read"],
  ["rstd", "read"],
  ["dx", "read_write"],
])}
${ROWS.declare(5, "u")}`;

const rowReduce = /* wgsl */ `
var<workgroup> red: array<f32, ${WG}>;
fn reduce(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;

export function rmsnormWgsl(): string {
  return /* wgsl */ `${forwardBindings}
${rowReduce}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.R) { return; }
  let lid = lid3.x; let D = u.D; let base = row * D;
  var ss = 0.0;
  for (var d = lid; d < D; d += ${WG}u) { let v = x[base + d]; ss = fma(v, v, ss); }
  let r = inverseSqrt(reduce(ss, lid) / f32(D) + u.eps);
  for (var d = lid; d < D; d += ${WG}u) { y[base + d] = w[d] * (x[base + d] * r); }
  if (lid == 0u) { rstd[row] = r; }
}`;
}

/**
 * One invocation per row (64 rows to a workgroup), sequential sums, no barriers: the variant for
 * software adapters. Same bindings as {@link rmsnormWgsl} / {@link rmsnormBackwardWgsl}.
 */
export function rmsnormRowWgsl(backward: boolean): string {
  const head = backward ? backwardBindings : forwardBindings;
  const body = backward
    ? `let r = rstd[row];
  var s = 0.0;
  for (var d = 0u; d < D; d++) { s = fma(dy[base + d] * w[d], x[base + d], s); }
  let c = s * r * r / f32(D);
  for (var d = 0u; d < D; d++) { dx[base + d] = r * (dy[base + d] * w[d] - x[base + d] * c); }`
    : `var ss = 0.0;
  for (var d = 0u; d < D; d++) { let v = x[base + d]; ss = fma(v, v, ss); }
  let r = inverseSqrt(ss / f32(D) + u.eps);
  for (var d = 0u; d < D; d++) { y[base + d] = w[d] * (x[base + d] * r); }
  rstd[row] = r;`;
  return /* wgsl */ `
${head}
${flatMainWgsl(WG, "row", "u.R")}
  let D = u.D; let base = row * D;
  ${body}
}`;
}

const rowForwardWgsl = rmsnormRowWgsl(false);
const rowBackwardWgsl = rmsnormRowWgsl(true);

export function rmsnormBackwardWgsl(): string {
  return /* wgsl */ `${backwardBindings}
${rowReduce}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.R) { return; }
  let lid = lid3.x; let D = u.D; let base = row * D;
  let r = rstd[row];
  var s = 0.0;
  for (var d = lid; d < D; d += ${WG}u) { s = fma(dy[base + d] * w[d], x[base + d], s); }
  // mean(g ⊙ x̂)·rstd = r²·Σ(g ⊙ x)/D
  let c = reduce(s, lid) * r * r / f32(D);
  for (var d = lid; d < D; d += ${WG}u) { dx[base + d] = r * (dy[base + d] * w[d] - x[base + d] * c); }
}`;
}

export function rmsnormWeightPartialWgsl(): string {
  return /* wgsl */ `
${storageWgsl([
  ["dy", "read"],
  ["x", "read"],
  ["rstd", "read"],
  ["part", "read_write"],
])}
${PARTIAL.declare(4, "u")}
${flatMainWgsl(256, "i", "u.n")}
  let c = i / u.D; let d = i - c * u.D;
  let r1 = min(u.R, (c + 1u) * ${CHUNK}u);
  var s = 0.0;
  for (var r = c * ${CHUNK}u; r < r1; r++) { s = fma(dy[r * u.D + d], x[r * u.D + d] * rstd[r], s); }
  part[i] = s;
}`;
}

export function rmsnormWeightReduceWgsl(accumulate: boolean): string {
  return /* wgsl */ `
${storageWgsl([
  ["part", "read"],
  ["dw", "read_write"],
])}
${REDUCE.declare(2, "u")}
${flatMainWgsl(256, "d", "u.D")}
  var s = 0.0;
  for (var c = 0u; c < u.chunks; c++) { s += part[c * u.D + d]; }
  ${accumulate ? "dw[d] = dw[d] + s;" : "dw[d] = s;"}
}`;
}

function dims(x: Tensor, kernel: string): [number, number] {
  assertDtype(x, ["f32"], "x", kernel);
  assertNonEmpty(x, "x", kernel);
  if (x.shape.length < 1)
    throw KernelError.mismatch("SHAPE_MISMATCH", "x", "rank ≥ 1", shapeStr(x.shape), kernel);
  const D = x.shape[x.shape.length - 1] as number;
  return [x.size / D, D];
}

export interface RmsnormResult {
  /** Normalised output, same shape as `x`. */
  y: Tensor<"f32">;
  /** `1/√(mean(x²) + eps)` per row, shape `[R]` (rows = all leading dims). Needed by backward. */
  rstd: Tensor<"f32">;
}

/** RMSNorm over the last dimension of `x` `[..., D]` with `weight` `[D]` (`eps` default 1e-6). */
export function rmsnorm(
  ctx: GpuContext,
  x: Tensor,
  weight: Tensor,
  options: { eps?: number; out?: Tensor } = {},
): RmsnormResult {
  const kernel = "rmsnorm";
  const [R, D] = dims(x, kernel);
  assertDtype(weight, ["f32"], "weight", kernel);
  assertShape(weight, [D], "weight", kernel);
  const eps = options.eps ?? 1e-6;
  assertFiniteNumber(eps, "eps", kernel);
  if (eps < 0) throw KernelError.mismatch("ARGUMENT_INVALID", "eps", "≥ 0", eps, kernel);
  const y = outputTensor(ctx, options.out, x.shape, "rmsnorm:y", kernel);
  const rstd = ctx.empty([R], "f32", "rmsnorm:rstd");
  const perRow = ctx.report?.isSoftware === true;
  ctx.run({
    kernel,
    code: perRow ? rowForwardWgsl : cachedWgsl("rmsnorm", rmsnormWgsl),
    bindings: [x, weight, y, rstd, ROWS.data({ R, D, eps }, kernel)],
    workgroups: grid1d(ctx, R, perRow ? WG : 1),
  });
  return { y, rstd };
}

export interface RmsnormBackwardOptions {
  /** Add the weight gradient into this `[D]` tensor instead of returning a new one. */
  dweightOut?: Tensor;
  accumulate?: boolean;
}

/**
 * Backward of {@link rmsnorm}: returns `dx` (shape of `x`) and `dweight` `[D]` (new, or
 * `options.dweightOut`, added into when `accumulate`).
 */
export function rmsnormBackward(
  ctx: GpuContext,
  dy: Tensor,
  x: Tensor,
  weight: Tensor,
  rstd: Tensor,
  options: RmsnormBackwardOptions = {},
): { dx: Tensor<"f32">; dweight: Tensor<"f32"> } {
  const kernel = "rmsnorm_backward";
  const [R, D] = dims(x, kernel);
  assertDtype(dy, ["f32"], "dy", kernel);
  assertShape(dy, x.shape, "dy", kernel);
  assertDtype(weight, ["f32"], "weight", kernel);
  assertShape(weight, [D], "weight", kernel);
  assertDtype(rstd, ["f32"], "rstd", kernel);
  assertShape(rstd, [R], "rstd", kernel);
  assertAccumulateTarget(options.accumulate, options.dweightOut, "a `dweightOut` tensor", kernel);
  const dweight = outputTensor(ctx, options.dweightOut, [D], "rmsnorm:dweight", kernel);
  const dx = ctx.empty(x.shape, "f32", "rmsnorm:dx");
  const perRow = ctx.report?.isSoftware === true;
  ctx.run({
    kernel,
    code: perRow ? rowBackwardWgsl : cachedWgsl("rmsnorm_backward", rmsnormBackwardWgsl),
    bindings: [dy, x, weight, rstd, dx, ROWS.data({ R, D, eps: 0 }, kernel)],
    workgroups: grid1d(ctx, R, perRow ? WG : 1),
  });
  const chunks = Math.ceil(R / CHUNK);
  const part = ctx.empty([chunks, D], "f32", "rmsnorm:dw_partial");
  ctx.run({
    kernel: "rmsnorm_dw_partial",
    code: cachedWgsl("rmsnorm_dw_partial", rmsnormWeightPartialWgsl),
    bindings: [dy, x, rstd, part, PARTIAL.data({ R, D, n: chunks * D }, "rmsnorm_dw_partial")],
    workgroups: grid1d(ctx, chunks * D, 256),
  });
  ctx.run({
    kernel: "rmsnorm_dw_reduce",
    code: cachedWgsl(`rmsnorm_dw_reduce:${options.accumulate === true}`, () =>
      rmsnormWeightReduceWgsl(options.accumulate === true),
    ),
    bindings: [part, dweight, REDUCE.data({ chunks, D }, "rmsnorm_dw_reduce")],
    workgroups: grid1d(ctx, D, 256),
  });
  ctx.flush();
  part.destroy();
  return { dx, dweight };
}
