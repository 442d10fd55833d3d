import type { GpuContext, Tensor } from "./context.js";
import { KernelError } from "./errors.js";
import { defineUniforms } from "./uniforms.js";

const WG = 256;
const PARAMS = defineUniforms({ n: "u32" });

/** WGSL: count non-finite f32 values (NaN or ±Inf, by exponent bits) into an atomic counter. */
export function countNonFiniteWgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> count: array<atomic<u32>>;
${PARAMS.declare(2, "u")}

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i >= u.n) { return; }
  if ((x[i] & 0x7f800000u) == 0x7f800000u) { atomicAdd(&count[0], 1u); }
}`;
}

/** Number of NaN/±Inf values in an f32 tensor. */
export async function countNonFinite(ctx: GpuContext, t: Tensor<"f32">): Promise<number> {
  if (t.size === 0) return 0;
  const count = ctx.empty([1], "u32", "nonfinite:count");
  try {
    const groups = Math.ceil(t.size / WG);
    const x = Math.min(groups, ctx.limits.maxComputeWorkgroupsPerDimension);
    const y = Math.ceil(groups / x);
    ctx.run({
      kernel: "count_non_finite",
      code: countNonFiniteWgsl(),
      bindings: [t, count, PARAMS.data({ n: t.size }, "count_non_finite")],
      workgroups: [x, y],
    });
    const out = await count.read();
    return out[0] ?? 0;
  } finally {
    count.destroy();
  }
}

/** Throw `VALUE_NON_FINITE` naming `kernel` if the tensor holds NaN or ±Inf. */
export async function assertFinite(ctx: GpuContext, t: Tensor<"f32">, kernel: string): Promise<void> {
  const n = await countNonFinite(ctx, t);
  if (n > 0) {
    throw new KernelError(
      "VALUE_NON_FINITE",
      `'${t.label}' holds ${n} non-finite value(s) of ${t.size}: expected only finite values`,
      { kernel },
    );
  }
}
