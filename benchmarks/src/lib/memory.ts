import type { GpuContext } from "@sage/kernels-webgpu";

export interface AllocationReport {
  /** Most bytes held at once by buffers created during the call (outputs included). */
  peakBytes: number;
  /** Bytes still held when the call returned (its outputs). */
  retainedBytes: number;
  /** Buffers created during the call. */
  buffers: number;
}

/**
 * Count every GPU buffer the call creates on the context's device (tensors, temporaries,
 * uniform and staging buffers) by wrapping `device.createBuffer` and each new buffer's `destroy`
 * for the duration of the call. Buffers created before the call (the inputs) are not counted.
 */
export async function trackAllocations<T>(
  ctx: GpuContext,
  fn: () => Promise<T>,
): Promise<{ value: T; report: AllocationReport }> {
  const device = ctx.device as GPUDevice & { createBuffer: GPUDevice["createBuffer"] };
  const original = device.createBuffer;
  let live = 0;
  let peak = 0;
  let buffers = 0;
  device.createBuffer = function createBuffer(this: GPUDevice, desc: GPUBufferDescriptor): GPUBuffer {
    const buf = original.call(this, desc);
    const size = desc.size;
    live += size;
    peak = Math.max(peak, live);
    buffers++;
    const destroy = buf.destroy;
    let freed = false;
    buf.destroy = function (this: GPUBuffer): undefined {
      if (!freed) {
        freed = true;
        live -= size;
      }
      return destroy.call(this);
    };
    return buf;
  };
  try {
    const value = await fn();
    return { value, report: { peakBytes: peak, retainedBytes: live, buffers } };
  } finally {
    // Remove the own property so the prototype's method is used again.
    delete (device as { createBuffer?: unknown }).createBuffer;
    if (device.createBuffer !== original) device.createBuffer = original;
  }
}
