/**
 * Elementwise f32 ops for residual streams and gradient bookkeeping: add, add-in-place
 * (`dst += alpha·src`, gradient accumulation), scale (by a number or by a one-element GPU tensor,
 * e.g. a clipping factor), copy, fill.
 *
 * One generated kernel per op: 256 invocations a workgroup, one element each, the flat index
 * folded into a 2-D grid (`(wid.x + wid.y·nwg.x)·256 + lid.x`) for > 65535 workgroups.
 * Bindings: the operands in order (output last, read_write), then the uniform `Params`
 * `{ n: u32, s: f32 }` (element count, scalar operand).
 */
import { type GpuContext, Tensor } from "../runtime/context.js";
import type { DType } from "../runtime/dtype.js";
import { KernelError } from "../runtime/errors.js";
import { defineUniforms } from "../runtime/uniforms.js";
import {
  assertDtype,
  assertFiniteNumber,
  assertShape,
  cachedWgsl,
  flatMainWgsl,
  grid1d,
  outputTensor,
} from "./op-util.js";

const WG = 256;
const PARAMS = defineUniforms({ n: "u32", s: "f32" });

/**
 * WGSL for `out[i] = expr` where `expr` may use `x0[i]`, `x1[i]`, … (read-only inputs), `o` (the
 * current output value), `s` (the uniform scalar) and `g` (a one-element storage scalar).
 */
export function elementwiseWgsl(expr: string, inputs: number, opts: { scalarTensor?: boolean } = {}): string {
  const decl: string[] = [];
  for (let k = 0; k < inputs; k++) {
    decl.push(`@group(0) @binding(${k}) var<storage, read> x${k}: array<f32>;`);
  }
  let b = inputs;
  if (opts.scalarTensor) decl.push(`@group(0) @binding(${b++}) var<storage, read> gs: array<f32>;`);
  decl.push(`@group(0) @binding(${b++}) var<storage, read_write> out: array<f32>;`);
  decl.push(PARAMS.declare(b, "u"));
  return /* wgsl */ `${decl.join("\n")}
${flatMainWgsl(WG, "i", "u.n")}
  let s = u.s;
  ${opts.scalarTensor ? "let g = gs[0];" : ""}
  let o = out[i];
  out[i] = ${expr};
}`;
}

function launch(
  ctx: GpuContext,
  kernel: string,
  expr: string,
  inputs: Tensor[],
  out: Tensor,
  scalar = 0,
  scalarTensor?: Tensor,
): void {
  const code = cachedWgsl(`elementwise:${inputs.length}:${scalarTensor !== undefined}:${expr}`, () =>
    elementwiseWgsl(expr, inputs.length, scalarTensor ? { scalarTensor: true } : {}),
  );
  const bindings = [...inputs, ...(scalarTensor ? [scalarTensor] : []), out];
  ctx.run({
    kernel,
    code,
    bindings: [...bindings, PARAMS.data({ n: out.size, s: scalar }, kernel)],
    workgroups: grid1d(ctx, out.size, WG),
  });
}

function checkSame(a: Tensor, b: Tensor, kernel: string): void {
  assertDtype(a, ["f32"], "first operand", kernel);
  assertDtype(b, ["f32"], "second operand", kernel);
  assertShape(b, a.shape, "second operand", kernel);
}

function noAlias(out: Tensor | undefined, inputs: Tensor[], kernel: string): void {
  if (out && inputs.some((t) => t.buffer === out.buffer)) {
    throw new KernelError("ARGUMENT_INVALID", "`out` must not be one of the inputs (use the in-place op)", {
      kernel,
    });
  }
}

function checkScalarTensor(s: Tensor, kernel: string): void {
  assertDtype(s, ["f32"], "scale", kernel);
  if (s.size !== 1) {
    throw KernelError.mismatch("SHAPE_MISMATCH", `scale '${s.label}'`, "one element", s.shape, kernel);
  }
}

/** `a + b` (same shapes). Returns a new tensor, or writes `options.out` (not an input; see {@link addInPlace}). */
export function add(ctx: GpuContext, a: Tensor, b: Tensor, options: { out?: Tensor } = {}): Tensor<"f32"> {
  checkSame(a, b, "add");
  noAlias(options.out, [a, b], "add");
  const out = outputTensor(ctx, options.out, a.shape, "add:out", "add");
  launch(ctx, "add", "x0[i] + x1[i]", [a, b], out);
  return out;
}

/** `dst += alpha·src` in place (gradient accumulation, residual adds). */
export function addInPlace(
  ctx: GpuContext,
  dst: Tensor,
  src: Tensor,
  options: { alpha?: number } = {},
): void {
  checkSame(dst, src, "add_inplace");
  if (dst.buffer === src.buffer)
    throw new KernelError("ARGUMENT_INVALID", "dst and src must differ", { kernel: "add_inplace" });
  const alpha = options.alpha ?? 1;
  assertFiniteNumber(alpha, "alpha", "add_inplace");
  launch(ctx, "add_inplace", alpha === 1 ? "o + x0[i]" : "fma(s, x0[i], o)", [src], dst, alpha);
}

/** `s·x` into a new tensor (or `options.out`). `s` is a number or a one-element f32 tensor. */
export function scale(
  ctx: GpuContext,
  x: Tensor,
  s: number | Tensor,
  options: { out?: Tensor } = {},
): Tensor<"f32"> {
  assertDtype(x, ["f32"], "input", "scale");
  if (typeof s === "number") assertFiniteNumber(s, "scale", "scale");
  else checkScalarTensor(s, "scale");
  noAlias(options.out, [x, ...(typeof s === "number" ? [] : [s])], "scale");
  const out = outputTensor(ctx, options.out, x.shape, "scale:out", "scale");
  if (typeof s === "number") launch(ctx, "scale", "s * x0[i]", [x], out, s);
  else launch(ctx, "scale_t", "g * x0[i]", [x], out, 0, s);
  return out;
}

/** `x *= s` in place. `s` is a number or a one-element f32 tensor (e.g. a clip factor). */
export function scaleInPlace(ctx: GpuContext, x: Tensor, s: number | Tensor): void {
  assertDtype(x, ["f32"], "input", "scale_inplace");
  if (typeof s === "number") {
    assertFiniteNumber(s, "scale", "scale_inplace");
    launch(ctx, "scale_inplace", "s * o", [], x, s);
  } else {
    checkScalarTensor(s, "scale_inplace");
    launch(ctx, "scale_inplace_t", "g * o", [], x, 0, s);
  }
}

/** A new tensor with the contents of `x`. */
export function copy(ctx: GpuContext, x: Tensor): Tensor<"f32"> {
  assertDtype(x, ["f32"], "input", "copy");
  const out = ctx.empty(x.shape, "f32", `${x.label}:copy`);
  launch(ctx, "copy", "x0[i]", [x], out);
  return out;
}

/** `dst = src` (same shapes). */
export function copyInto(ctx: GpuContext, dst: Tensor, src: Tensor): void {
  checkSame(dst, src, "copy_into");
  if (dst.buffer === src.buffer) return;
  launch(ctx, "copy", "x0[i]", [src], dst);
}

/** Set every element of an f32 tensor to `value` (default 0). */
export function fill(ctx: GpuContext, t: Tensor, value = 0): void {
  assertDtype(t, ["f32"], "input", "fill");
  assertFiniteNumber(value, "fill value", "fill");
  launch(ctx, "fill", "s", [], t, value);
}

/**
 * A tensor of another shape over the same buffer (row-major, same element count): e.g. a
 * projection's `[B·T, H·Dh]` output seen as `[B, T, H, Dh]`. The view does not own the buffer:
 * `destroy()` / `using` on it does nothing, and it is usable only while `t` is alive.
 */
export function reshape<D extends DType>(t: Tensor<D>, shape: readonly number[]): Tensor<D> {
  t.assertAlive("reshape");
  const size = shape.reduce((a, b) => a * b, 1);
  if (shape.some((d) => !Number.isInteger(d) || d < 0) || size !== t.size) {
    throw KernelError.mismatch(
      "SHAPE_MISMATCH",
      `reshape of '${t.label}' [${t.shape.join(", ")}]`,
      `a shape with ${t.size} elements`,
      shape,
      "reshape",
    );
  }
  const base = t instanceof TensorView ? (t.base as Tensor<D>) : t;
  return new TensorView(base, shape);
}

/** A non-owning view (see {@link reshape}). */
export class TensorView<D extends DType = DType> extends Tensor<D> {
  constructor(
    readonly base: Tensor<D>,
    shape: readonly number[],
  ) {
    super(base.ctx, base.buffer, shape, base.dtype, `${base.label}:view`);
  }

  override get isAlive(): boolean {
    return this.base.isAlive;
  }

  /** Does nothing: the base tensor owns the buffer. */
  override destroy(): void {}

  override assertAlive(kernel?: string): void {
    this.base.assertAlive(kernel);
  }
}
