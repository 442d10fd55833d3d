/**
 * SwiGLU gating of the Llama/Qwen2 MLP: `h = silu(gate) ⊙ up`, `silu(g) = g·σ(g)`.
 * Backward: `dgate = dh ⊙ up ⊙ σ(g)(1 + g(1 − σ(g)))`, `dup = dh ⊙ silu(g)`.
 * One invocation per element (256 a workgroup, 2-D grid). σ is computed as `1/(1 + exp(−g))`
 * with `exp(−g)` overflowing to +inf for g < −88 (σ → 0, exact limit), never NaN.
 * Bindings: forward gate, up, h, params; backward dh, gate, up, dgate, dup, params.
 */
import type { GpuContext, Tensor } from "../runtime/context.js";
import { assertDtype, assertShape, cachedWgsl, grid1d, outputTensor } from "./op-util.js";

const WG = 256;
const head = /* wgsl */ `
fn sigmoid(g: f32) -> f32 { return 1.0 / (1.0 + exp(-g)); }
fn flat(wid: vec3<u32>, lid: vec3<u32>, nwg: vec3<u32>) -> u32 { return (wid.x + wid.y * nwg.x) * ${WG}u + lid.x; }`;

export function swigluWgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> h: array<f32>;
@group(0) @binding(3) var<uniform> u: vec4<u32>;
${head}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(wid, lid, nwg);
  if (i >= u.x) { return; }
  let g = gate[i];
  h[i] = g * sigmoid(g) * up[i];
}`;
}

export function swigluBackwardWgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> dh: array<f32>;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(4) var<storage, read_write> dup: array<f32>;
@group(0) @binding(5) var<uniform> u: vec4<u32>;
${head}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat(wid, lid, nwg);
  if (i >= u.x) { return; }
  let g = gate[i]; let s = sigmoid(g); let d = dh[i];
  dgate[i] = d * up[i] * s * (1.0 + g * (1.0 - s));
  dup[i] = d * g * s;
}`;
}

function check(tensors: [Tensor, string][], kernel: string): void {
  const first = tensors[0]![0];
  for (const [t, name] of tensors) {
    assertDtype(t, ["f32"], name, kernel);
    assertShape(t, first.shape, name, kernel);
  }
}

/** `silu(gate) ⊙ up` (same shapes). Returns a new tensor or `options.out`. */
export function swiglu(
  ctx: GpuContext,
  gate: Tensor,
  up: Tensor,
  options: { out?: Tensor } = {},
): Tensor<"f32"> {
  check(
    [
      [gate, "gate"],
      [up, "up"],
    ],
    "swiglu",
  );
  const h = outputTensor(ctx, options.out, gate.shape, "swiglu:out", "swiglu");
  ctx.run({
    kernel: "swiglu",
    code: cachedWgsl("swiglu", swigluWgsl),
    bindings: [gate, up, h, new Uint32Array([gate.size, 0, 0, 0])],
    workgroups: grid1d(ctx, gate.size, WG),
  });
  return h;
}

/** Backward of {@link swiglu}: `dgate`, `dup` (new tensors). */
export function swigluBackward(
  ctx: GpuContext,
  dh: Tensor,
  gate: Tensor,
  up: Tensor,
): { dgate: Tensor<"f32">; dup: Tensor<"f32"> } {
  check(
    [
      [gate, "gate"],
      [up, "up"],
      [dh, "dh"],
    ],
    "swiglu_backward",
  );
  const dgate = ctx.empty(gate.shape, "f32", "swiglu:dgate");
  const dup = ctx.empty(gate.shape, "f32", "swiglu:dup");
  ctx.run({
    kernel: "swiglu_backward",
    code: cachedWgsl("swiglu_backward", swigluBackwardWgsl),
    bindings: [dh, gate, up, dgate, dup, new Uint32Array([gate.size, 0, 0, 0])],
    workgroups: grid1d(ctx, gate.size, WG),
  });
  return { dgate, dup };
}
