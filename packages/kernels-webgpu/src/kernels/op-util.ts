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
      "EMPTY",
      `${what} '${t.label}'`,
      "at least one element",
      shapeStr(t.shape),
      kernel,
    );
  }
}

export function assertFiniteNumber(x: number, what: string, kernel: string): void {
  if (!Number.isFinite(x)) throw KernelError.mismatch("INVALID_ARGUMENT", what, "a finite number", x, kernel);
}

export function assertPositiveInt(x: number, what: string, kernel: string): void {
  if (!Number.isInteger(x) || x < 1) {
    throw KernelError.mismatch("INVALID_ARGUMENT", what, "a positive integer", x, kernel);
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
    throw KernelError.mismatch("LIMIT_EXCEEDED", "number of workgroups", `at most ${max * max}`, groups);
  }
  return [x, y];
}

/** Host check that every id lies in `[0, limit)`. */
export function assertIdsInRange(ids: Int32Array, limit: number, what: string, kernel: string): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as number;
    if (id < 0 || id >= limit) {
      throw KernelError.mismatch("OUT_OF_RANGE", `${what}[${i}]`, `an integer in [0, ${limit})`, id, kernel);
    }
  }
}

/** Float32 bits of `x` as a u32 (to pass f32 scalars inside a u32 uniform). */
export function f32bits(x: number): number {
  const f = new Float32Array([x]);
  return new Uint32Array(f.buffer)[0] as number;
}
