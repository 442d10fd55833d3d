/**
 * Optimiser kernels with their state on the GPU.
 *
 * - {@link adamwStep}: one AdamW step in place (PyTorch `torch.optim.AdamW` semantics: decoupled
 *   weight decay `p ← p·(1 − lr·wd)`, `m ← β1·m + (1−β1)·g`, `v ← β2·v + (1−β2)·g²`,
 *   `p ← p − (lr/(1−β1^t))·m / (√v/√(1−β2^t) + eps)`), `lr` and `t` passed per step, with an
 *   optional GPU scalar `gradScale` multiplying `g` first (global-norm clipping without a read-back).
 *   One invocation per element. Bindings: param, grad, m, v, [gradScale], params.
 * - {@link gradNorm}: the global L2 norm over a list of gradients, reduced deterministically:
 *   each workgroup of 256 sums a fixed chunk of 4096 elements (strided per invocation, then a tree)
 *   into a partial slot; one final workgroup sums all partials in a fixed order and takes √.
 *   No atomics: bit-reproducible for the same tensors in the same order.
 * - {@link clipCoefficient}: `min(1, maxNorm/(norm + 1e-6))` on the GPU (PyTorch `clip_grad_norm_`).
 */
import type { GpuContext, Tensor } from "../runtime/context.js";
import { KernelError } from "../runtime/errors.js";
import { defineUniforms } from "../runtime/uniforms.js";
import { assertDtype, assertFiniteNumber, assertShape, cachedWgsl, flatMainWgsl, grid1d } from "./op-util.js";

const WG = 256;
const CHUNK = 4096;
/** AdamW: element count, `1 − lr·wd`, betas, `lr/(1−β1^t)`, `√(1−β2^t)`, eps. */
const ADAMW = defineUniforms({
  n: "u32",
  decay: "f32",
  b1: "f32",
  b2: "f32",
  stepSize: "f32",
  bc2sqrt: "f32",
  eps: "f32",
});
/** Sum-of-squares partials: `n` elements, written from partial slot `offset`. */
const PARTIAL = defineUniforms({ n: "u32", offset: "u32" });
/** Final sum: `n` partials. */
const PARTIALS = defineUniforms({ n: "u32" });
const CLIP = defineUniforms({ maxNorm: "f32" });

export interface AdamWOptions {
  lr: number;
  /** 1-based step number (bias correction). */
  step: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** One-element f32 tensor multiplying the gradient (e.g. from {@link clipCoefficient}). */
  gradScale?: Tensor;
}

export const ADAMW_DEFAULTS = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 } as const;

export function adamwWgsl(scaled: boolean): string {
  const b = scaled ? 5 : 4;
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
${scaled ? "@group(0) @binding(4) var<storage, read> gscale: array<f32>;" : ""}
${ADAMW.declare(b, "p", "P")}
${flatMainWgsl(WG, "i", "p.n")}
  let g = grad[i]${scaled ? " * gscale[0]" : ""};
  let mi = p.b1 * m[i] + (1.0 - p.b1) * g;
  let vi = p.b2 * v[i] + (1.0 - p.b2) * g * g;
  m[i] = mi; v[i] = vi;
  let denom = sqrt(vi) / p.bc2sqrt + p.eps;
  param[i] = param[i] * p.decay - p.stepSize * mi / denom;
}`;
}

/** One AdamW step, updating `param`, `m` and `v` in place. */
export function adamwStep(
  ctx: GpuContext,
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  options: AdamWOptions,
): void {
  const kernel = "adamw";
  for (const [t, n] of [
    [param, "param"],
    [grad, "grad"],
    [m, "m"],
    [v, "v"],
  ] as const) {
    assertDtype(t, ["f32"], n, kernel);
    assertShape(t, param.shape, n, kernel);
  }
  if (new Set([param, grad, m, v]).size !== 4) {
    throw new KernelError("ARGUMENT_INVALID", "param, grad, m and v must be four different tensors", {
      kernel,
    });
  }
  const o = { ...ADAMW_DEFAULTS, ...options };
  for (const [x, n] of [
    [o.lr, "lr"],
    [o.beta1, "beta1"],
    [o.beta2, "beta2"],
    [o.eps, "eps"],
    [o.weightDecay, "weightDecay"],
  ] as const) {
    assertFiniteNumber(x, n, kernel);
    if (x < 0) throw KernelError.mismatch("ARGUMENT_INVALID", n, "≥ 0", x, kernel);
  }
  if (o.beta1 >= 1 || o.beta2 >= 1) {
    throw KernelError.mismatch("ARGUMENT_INVALID", "betas", "in [0, 1)", [o.beta1, o.beta2], kernel);
  }
  if (!Number.isInteger(o.step) || o.step < 1) {
    throw KernelError.mismatch("ARGUMENT_INVALID", "step", "a positive integer (1-based)", o.step, kernel);
  }
  if (o.gradScale) {
    assertDtype(o.gradScale, ["f32"], "gradScale", kernel);
    if (o.gradScale.size !== 1) {
      throw KernelError.mismatch("SHAPE_MISMATCH", "gradScale", "one element", o.gradScale.shape, kernel);
    }
  }
  const bc1 = 1 - o.beta1 ** o.step;
  const bc2 = 1 - o.beta2 ** o.step;
  const u = ADAMW.data(
    {
      n: param.size,
      decay: 1 - o.lr * o.weightDecay,
      b1: o.beta1,
      b2: o.beta2,
      stepSize: o.lr / bc1,
      bc2sqrt: Math.sqrt(bc2),
      eps: o.eps,
    },
    kernel,
  );
  ctx.run({
    kernel,
    code: cachedWgsl(`adamw:${o.gradScale !== undefined}`, () => adamwWgsl(o.gradScale !== undefined)),
    bindings: [param, grad, m, v, ...(o.gradScale ? [o.gradScale] : []), u],
    workgroups: grid1d(ctx, param.size, WG),
  });
}

export function sumSquaresPartialWgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> part: array<f32>;
${PARTIAL.declare(2, "u")}
var<workgroup> red: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = wid.x + wid.y * nwg.x;
  let base = g * ${CHUNK}u;
  var s = 0.0;
  for (var k = 0u; k < ${CHUNK / WG}u; k++) {
    let i = base + k * ${WG}u + lid.x;
    if (i < u.n) { let a = x[i]; s = fma(a, a, s); }
  }
  red[lid.x] = s;
  workgroupBarrier();
  for (var w = ${WG / 2}u; w > 0u; w >>= 1u) {
    if (lid.x < w) { red[lid.x] += red[lid.x + w]; }
    workgroupBarrier();
  }
  if (lid.x == 0u && base < u.n) { part[u.offset + g] = red[0]; }
}`;
}

export function sumPartialsWgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> norm: array<f32>;
${PARTIALS.declare(2, "u")}
var<workgroup> red: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  var s = 0.0;
  for (var i = lid.x; i < u.n; i += ${WG}u) { s += part[i]; }
  red[lid.x] = s;
  workgroupBarrier();
  for (var w = ${WG / 2}u; w > 0u; w >>= 1u) {
    if (lid.x < w) { red[lid.x] += red[lid.x + w]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { norm[0] = sqrt(red[0]); }
}`;
}

/** Global L2 norm `√(Σ_t Σ_i g_t[i]²)` over f32 tensors, as a one-element GPU tensor (caller owns). */
export function gradNorm(ctx: GpuContext, grads: readonly Tensor[]): Tensor<"f32"> {
  const kernel = "grad_norm";
  if (grads.length === 0)
    throw KernelError.mismatch("TENSOR_EMPTY", "grads", "at least one tensor", "[]", kernel);
  for (const g of grads) assertDtype(g, ["f32"], "gradient", kernel);
  const counts = grads.map((g) => Math.ceil(g.size / CHUNK));
  const total = counts.reduce((a, b) => a + b, 0);
  const norm = ctx.empty([1], "f32", "grad_norm");
  const part = ctx.empty([Math.max(1, total)], "f32", "grad_norm:partials");
  let off = 0;
  grads.forEach((g, k) => {
    const n = counts[k] as number;
    if (n > 0) {
      ctx.run({
        kernel: "sum_squares_partial",
        code: cachedWgsl("sum_squares_partial", sumSquaresPartialWgsl),
        bindings: [g, part, PARTIAL.data({ n: g.size, offset: off }, "sum_squares_partial")],
        workgroups: grid1d(ctx, g.size, CHUNK),
      });
    }
    off += n;
  });
  ctx.run({
    kernel: "sum_partials_sqrt",
    code: cachedWgsl("sum_partials", sumPartialsWgsl),
    bindings: [part, norm, PARTIALS.data({ n: total }, "sum_partials_sqrt")],
    workgroups: [1],
  });
  ctx.flush();
  part.destroy();
  return norm;
}

export function clipCoefficientWgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> norm: array<f32>;
@group(0) @binding(1) var<storage, read_write> coef: array<f32>;
${CLIP.declare(2, "u")}
@compute @workgroup_size(1)
fn main() { coef[0] = min(1.0, u.maxNorm / (norm[0] + 1e-6)); }`;
}

/** `min(1, maxNorm / (norm + 1e-6))` as a one-element GPU tensor (caller owns). */
export function clipCoefficient(ctx: GpuContext, norm: Tensor, maxNorm: number): Tensor<"f32"> {
  const kernel = "clip_coefficient";
  assertDtype(norm, ["f32"], "norm", kernel);
  if (norm.size !== 1)
    throw KernelError.mismatch("SHAPE_MISMATCH", "norm", "one element", norm.shape, kernel);
  assertFiniteNumber(maxNorm, "maxNorm", kernel);
  if (maxNorm <= 0) throw KernelError.mismatch("ARGUMENT_INVALID", "maxNorm", "> 0", maxNorm, kernel);
  const coef = ctx.empty([1], "f32", "clip_coefficient");
  ctx.run({
    kernel,
    code: cachedWgsl("clip_coefficient", clipCoefficientWgsl),
    bindings: [norm, coef, CLIP.data({ maxNorm }, kernel)],
    workgroups: [1],
  });
  return coef;
}
