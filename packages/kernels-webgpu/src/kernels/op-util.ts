/**
 * Small helpers shared by the model ops (matmul, embedding, RMSNorm, RoPE, attention, SwiGLU,
 * elementwise, AdamW): argument validation with typed errors, and a 1-D grid that folds into
 * two dimensions when it needs more than `maxComputeWorkgroupsPerDimension` workgroups.
 */
import type { GpuContext, Tensor } from "../runtime/context.js";
import type { DType } from "../runtime/dtype.js";
import { KernelError } from "../runtime/errors.js";

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

export function assertDtype(t: Tensor, dtypes: readonly DType[], what: string, kernel: string): void {
  t.assertAlive(kernel);
  if (!dtypes.includes(t.dtype)) {
    throw KernelError.mismatch(
      "DTYPE_MISMATCH",
      `${what} '${t.label}'`,
      dtypes.join(" or "),
      t.dtype,
      kernel,
    );
  }
}

export function assertRank(t: Tensor, ranks: readonly number[], what: string, kernel: string): void {
  if (!ranks.includes(t.shape.length)) {
    throw KernelError.mismatch(
      "SHAPE_MISMATCH",
      `${what} '${t.label}'`,
      `rank ${ranks.join(" or ")}`,
      `shape ${shapeStr(t.shape)}`,
      kernel,
    );
  }
}

export function assertShape(t: Tensor, shape: readonly number[], what: string, kernel: string): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw KernelError.mismatch(
      "SHAPE_MISMATCH",
      `${what} '${t.label}'`,
      `shape ${shapeStr(shape)}`,
      shapeStr(t.shape),
      kernel,
    );
  }
}

export function assertNonEmpty(t: Tensor, what: string, kernel: string): void {
  if (t.size === 0) {
    throw KernelError.mismatch(
      "TENSOR_EMPTY",
      `${what} '${t.label}'`,
      "at least one element",
      shapeStr(t.shape),
      kernel,
    );
  }
}

export function assertFiniteNumber(x: number, what: string, kernel: string): void {
  if (!Number.isFinite(x)) throw KernelError.mismatch("ARGUMENT_INVALID", what, "a finite number", x, kernel);
}

export function assertPositiveInt(x: number, what: string, kernel: string): void {
  if (!Number.isInteger(x) || x < 1) {
    throw KernelError.mismatch("ARGUMENT_INVALID", what, "a positive integer", x, kernel);
  }
}

/** Check that `out` (if given) has the expected shape and is f32, else allocate a zeroed tensor. */
export function outputTensor(
  ctx: GpuContext,
  out: Tensor | undefined,
  shape: readonly number[],
  label: string,
  kernel: string,
): Tensor<"f32"> {
  if (out) {
    assertDtype(out, ["f32"], "output", kernel);
    assertShape(out, shape, "output", kernel);
    return out as Tensor<"f32">;
  }
  return ctx.empty(shape, "f32", label);
}

/**
 * Workgroup grid for `n` independent items handled `perGroup` to a workgroup: `[x, y]` with
 * `x ≤ maxComputeWorkgroupsPerDimension`. Shaders recover the flat group index as
 * `wid.x + wid.y * nwg.x` and must bounds-check the item index.
 */
export function grid1d(ctx: GpuContext, n: number, perGroup: number): [number, number] {
  const groups = Math.ceil(n / perGroup);
  if (groups === 0) return [0, 1];
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  const x = Math.min(groups, max);
  const y = Math.ceil(groups / x);
  if (y > max) {
    throw KernelError.mismatch(
      "DEVICE_LIMIT_EXCEEDED",
      "number of workgroups",
      `at most ${max * max}`,
      groups,
    );
  }
  return [x, y];
}

/**
 * WGSL entry point for a {@link grid1d} launch of `wg` invocations a workgroup: opens `main`,
 * declares the flat item index `index` and returns for items at or past `count` (a WGSL
 * expression). The caller writes the body and the closing brace.
 */
export function flatMainWgsl(wg: number, index: string, count: string): string {
  return /* wgsl */ `@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let ${index} = (wid.x + wid.y * nwg.x) * ${wg}u + lid.x;
  if (${index} >= ${count}) { return; }`;
}

/** Host check that every id lies in `[0, limit)`. */
export function assertIdsInRange(ids: Int32Array, limit: number, what: string, kernel: string): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as number;
    if (id < 0 || id >= limit) {
      throw KernelError.mismatch(
        "VALUE_OUT_OF_RANGE",
        `${what}[${i}]`,
        `an integer in [0, ${limit})`,
        id,
        kernel,
      );
    }
  }
}

/** A storage buffer of a generated kernel: name, access, element type (default `f32`). */
export type StorageDecl = readonly [name: string, access: "read" | "read_write", element?: string];

/** WGSL `var<storage>` declarations of `buffers`, bound in order from `@binding(first)` of group 0. */
export function storageWgsl(buffers: readonly StorageDecl[], first = 0): string {
  return buffers
    .map(
      ([name, access, element = "f32"], i) =>
        `@group(0) @binding(${first + i}) var<storage, ${access}> ${name}: array<${element}>;`,
    )
    .join("\n");
}

/** Throw `ARGUMENT_INVALID` when `accumulate` is asked for without a tensor to add into. */
export function assertAccumulateTarget(
  accumulate: boolean | undefined,
  out: Tensor | undefined,
  what: string,
  kernel: string,
): void {
  if (accumulate && !out) {
    throw KernelError.mismatch("ARGUMENT_INVALID", "accumulate", `${what} to add into`, "none", kernel);
  }
}

/** A workgroup size given in options: a power of two in [32, maxComputeInvocationsPerWorkgroup]. */
export function checkWorkgroupSize(ctx: GpuContext, wg: number, kernel: string): number {
  const max = ctx.limits.maxComputeInvocationsPerWorkgroup;
  if (!Number.isInteger(wg) || wg < 32 || wg > max || (wg & (wg - 1)) !== 0) {
    throw KernelError.mismatch(
      "ARGUMENT_INVALID",
      "workgroupSize",
      `a power of two in [32, ${max}]`,
      wg,
      kernel,
    );
  }
  return wg;
}

const wgslCache = new Map<string, string>();

/**
 * The WGSL generated by `gen`, built once per `key` (a string of every parameter the source
 * depends on). Generating a kernel's source costs up to ~0.4 ms (the blocked matmul is ~16 KB),
 * and returning the same string object also keeps the context's pipeline-cache lookup cheap.
 */
export function cachedWgsl(key: string, gen: () => string): string {
  let code = wgslCache.get(key);
  if (code === undefined) {
    code = gen();
    wgslCache.set(key, code);
  }
  return code;
}
