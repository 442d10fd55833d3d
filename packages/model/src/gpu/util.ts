/** Small GPU helpers: views, row copies, scoped temporaries. */
import { type GpuContext, Tensor } from "@sage/kernels-webgpu";

/**
 * A view of `t` with another shape over the same buffer (same element count). Views are not
 * tracked by the context and must never be destroyed; destroy the original.
 */
export function view(t: Tensor, shape: readonly number[], label = `${t.label}:view`): Tensor<"f32"> {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== t.size)
    throw new Error(`view of '${t.label}': ${t.size} elements cannot have shape [${shape.join(", ")}]`);
  t.assertAlive();
  return new Tensor<"f32">(t.ctx, t.buffer, shape, "f32", label);
}

/** Copy `rows` rows of `rowElems` f32 from `src` (starting at row `srcRow`) into `dst` at `dstRow`. */
export function copyRows(
  ctx: GpuContext,
  src: Tensor,
  srcRow: number,
  dst: Tensor,
  dstRow: number,
  rows: number,
  rowElems: number,
): void {
  if (rows === 0) return;
  ctx.flush(); // keep order with pending kernels
  const enc = ctx.device.createCommandEncoder({ label: "copy_rows" });
  enc.copyBufferToBuffer(
    src.buffer,
    srcRow * rowElems * 4,
    dst.buffer,
    dstRow * rowElems * 4,
    rows * rowElems * 4,
  );
  ctx.queue.submit([enc.finish()]);
}

/** Destroy tensors after submitting pending work that may still use them. */
export function release(ctx: GpuContext, ...ts: (Tensor | undefined)[]): void {
  ctx.flush();
  for (const t of ts) t?.destroy();
}
