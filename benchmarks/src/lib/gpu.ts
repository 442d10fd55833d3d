import { createContext, formatAdapter, type GpuContext } from "@sage/kernels-webgpu";

/**
 * Open the benchmark's WebGPU context and expose the same GPU instance as `navigator.gpu`, so that
 * jax-js (which looks for `navigator.gpu`) requests its device from the same adapter. The context
 * holds the instance for its whole life (dawn.node 0.6.2 crashes if it is collected early), and
 * so does `globalThis.navigator` until the process exits.
 */
export async function openGpu(): Promise<GpuContext> {
  const ctx = await createContext({ label: "bench" });
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (!g.navigator?.gpu && ctx.gpu) {
    Object.defineProperty(globalThis, "navigator", {
      value: { gpu: ctx.gpu, userAgent: "node" },
      configurable: true,
      writable: true,
    });
  }
  return ctx;
}

/** Run `fn` on a context from `openGpu`, destroyed afterwards whatever happens. */
export async function withGpu<T>(fn: (ctx: GpuContext) => Promise<T>): Promise<T> {
  const ctx = await openGpu();
  try {
    return await fn(ctx);
  } finally {
    ctx.destroy();
  }
}

/** One line naming the context's adapter. */
export function adapterLine(ctx: GpuContext): string {
  return ctx.report ? formatAdapter(ctx.report) : "unknown adapter (context created from a device)";
}
