/**
 * SwiGLU gating of the Llama/Qwen2 MLP: `h = silu(gate) ⊙ up`, `silu(g) = g·σ(g)`.
 * Backward: `dgate = dh ⊙ up ⊙ σ(g)(1 + g(1 − σ(g)))`, `dup = dh ⊙ silu(g)`.
 * One invocation per element (256 a workgroup, 2-D grid). σ is computed as `1/(1 + exp(−g))`
 * with `exp(−g)` overflowing to +inf for g < −88 (σ → 0, exact limit), never NaN.
 * Bindings: forward gate, up, h, params; backward dh, gate, up, dgate, dup, params.
 */
import type { GpuContext, Tensor } from "../runtime/context.js";
import { defineUniforms } from "../runtime/uniforms.js";
import {
  assertDtype,
  assertShape,
  cachedWgsl,
  flatMainWgsl,
  grid1d,
  outputTensor,
  type StorageDecl,
  storageWgsl,
} from "./op-util.js";

const WG = 256;
const PARAMS = defineUniforms({ n: "u32" });

/**
 * One invocation per element `i < u.n` (forward and backward share everything but the f32
 * buffers, bound in order, and the per-element `body`).
 */
function elementKernel(buffers: readonly StorageDecl[], body: string): string {
  return /* wgsl */ `
${storageWgsl(buffers)}
${PARAMS.declare(buffers.length, "u")}
fn sigmoid(g: f32) -> f32 { return 1.0 / (1.0 + exp(-g)); }
${flatMainWgsl(WG, "i", "u.n")}
  ${body}
}`;
}

export function swigluWgsl(): string {
  return elementKernel(
    [
      ["gate", "read"],
      ["up", "read"],
      ["h", "read_write"],
    ],
    "let g = gate[i];\n  h[i] = g * sigmoid(g) * up[i];",
  );
}

export function swigluBackwardWgsl(): string {
  return elementKernel(
    [
      ["dh", "read"],
      ["gate", "read"],
      ["up", "read"],
      ["dgate", "read_write"],
      ["dup", "read_write"],
    ],
    `let g = gate[i]; let s = sigmoid(g); let d = dh[i];
  dgate[i] = d * up[i] * s * (1.0 + g * (1.0 - s));
  dup[i] = d * g * s;`,
  );
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
    bindings: [gate, up, h, PARAMS.data({ n: gate.size }, "swiglu")],
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
    bindings: [dh, gate, up, dgate, dup, PARAMS.data({ n: gate.size }, "swiglu_backward")],
    workgroups: grid1d(ctx, gate.size, WG),
  });
  return { dgate, dup };
}
