/**
 * The implementations compared in the kernel suite, behind one small interface each for the
 * token log-prob op and for matmul: load inputs once (untimed), run once and read back (for the
 * correctness checks), run timed work that waits for the GPU before it resolves, dispose.
 */
import { type GpuContext, matmul, type Tensor, tokenLogprobs } from "@sage/kernels-webgpu";
import { type AllocationReport, trackAllocations } from "../lib/memory.js";
import { jaxLogprobRunner, jaxMatmulRunner } from "./jax.js";
import { naiveMatmul, naiveTokenLogProbs } from "./naive.js";

export type ImplId = "sage" | "naive" | "jax-webgpu" | "jax-wasm";

export const IMPL_IDS: readonly ImplId[] = ["sage", "naive", "jax-webgpu", "jax-wasm"];

export const IMPL_LABELS: Record<ImplId, { logprob: string; matmul: string }> = {
  sage: { logprob: "sage fused", matmul: "sage matmul" },
  naive: { logprob: "naive WGSL", matmul: "naive WGSL" },
  "jax-webgpu": { logprob: "jax-js WebGPU", matmul: "jax-js WebGPU" },
  "jax-wasm": { logprob: "jax-js Wasm", matmul: "jax-js Wasm" },
};

export interface LogprobBlock {
  /** [rows, V] row-major logits. */
  logits: Float32Array;
  /** [rows] target ids in [0, V). */
  targets: Int32Array;
}

export interface LogprobRunner {
  /** Log-probs of pool block `i`, read back to the CPU. */
  runOnce(i: number): Promise<Float32Array>;
  /**
   * Process the pool blocks listed in `order`, waiting for each block's result before the next
   * (every implementation alike: it bounds the memory in flight, and costs one round trip per
   * block of ≥ 30 MB of logits).
   */
  runBlocks(order: readonly number[]): Promise<void>;
  /** Bytes the op allocates on block `i` (only for implementations on the project's context). */
  allocation?(i: number): Promise<AllocationReport>;
  dispose(): void;
}

/** C [m, n] = A [m, k] · B [k, n], row-major. */
export interface MatmulDims {
  m: number;
  k: number;
  n: number;
}

export interface MatmulRunner {
  runOnce(): Promise<Float32Array>;
  run(): Promise<void>;
  dispose(): void;
}

function uploadPool(ctx: GpuContext, pool: readonly LogprobBlock[], rows: number, V: number) {
  const xs = pool.map((b, i) => ctx.tensor(b.logits, [rows, V], `bench:logits${i}`) as Tensor<"f32">);
  const ts = pool.map((b, i) => ctx.tensor(b.targets, [rows], `bench:targets${i}`) as Tensor<"i32">);
  const dispose = () => {
    for (const t of [...xs, ...ts]) t.destroy();
  };
  return { xs, ts, dispose };
}

/** The project's fused op, with its default checks on (one 8-byte status read-back per call). */
async function sageLogprob(ctx: GpuContext, pool: readonly LogprobBlock[], rows: number, V: number) {
  const up = uploadPool(ctx, pool, rows, V);
  await ctx.sync();
  const call = (i: number) => tokenLogprobs(ctx, up.xs[i] as Tensor<"f32">, up.ts[i] as Tensor<"i32">);
  const runner: LogprobRunner = {
    async runOnce(i) {
      const { logp, lse } = await call(i);
      lse.destroy();
      const out = await logp.read();
      logp.destroy();
      return out;
    },
    async runBlocks(order) {
      for (const i of order) {
        const { logp, lse } = await call(i);
        logp.destroy();
        lse.destroy();
      }
      await ctx.sync();
    },
    async allocation(i) {
      const { value, report } = await trackAllocations(ctx, () => call(i));
      value.logp.destroy();
      value.lse.destroy();
      return report;
    },
    dispose: up.dispose,
  };
  return runner;
}

async function naiveLogprob(ctx: GpuContext, pool: readonly LogprobBlock[], rows: number, V: number) {
  const up = uploadPool(ctx, pool, rows, V);
  await ctx.sync();
  const call = (i: number) => naiveTokenLogProbs(ctx, up.xs[i] as Tensor<"f32">, up.ts[i] as Tensor<"i32">);
  const runner: LogprobRunner = {
    async runOnce(i) {
      const logp = call(i);
      const out = await logp.read();
      logp.destroy();
      return out;
    },
    async runBlocks(order) {
      for (const i of order) {
        const out = call(i);
        await ctx.sync();
        out.destroy();
      }
    },
    async allocation(i) {
      const { value, report } = await trackAllocations(ctx, async () => call(i));
      await ctx.sync();
      value.destroy();
      return report;
    },
    dispose: up.dispose,
  };
  return runner;
}

export function logprobRunner(
  id: ImplId,
  ctx: GpuContext,
  pool: readonly LogprobBlock[],
  rows: number,
  V: number,
): Promise<LogprobRunner> {
  switch (id) {
    case "sage":
      return sageLogprob(ctx, pool, rows, V);
    case "naive":
      return naiveLogprob(ctx, pool, rows, V);
    case "jax-webgpu":
      return jaxLogprobRunner("webgpu", pool, rows, V);
    case "jax-wasm":
      return jaxLogprobRunner("wasm", pool, rows, V);
  }
}

async function ctxMatmul(
  ctx: GpuContext,
  a: Float32Array,
  b: Float32Array,
  d: MatmulDims,
  op: (ctx: GpuContext, a: Tensor<"f32">, b: Tensor<"f32">) => Tensor<"f32">,
): Promise<MatmulRunner> {
  const A = ctx.tensor(a, [d.m, d.k], "bench:A") as Tensor<"f32">;
  const B = ctx.tensor(b, [d.k, d.n], "bench:B") as Tensor<"f32">;
  await ctx.sync();
  return {
    async runOnce() {
      const c = op(ctx, A, B);
      const out = await c.read();
      c.destroy();
      return out;
    },
    async run() {
      const c = op(ctx, A, B);
      await ctx.sync();
      c.destroy();
    },
    dispose() {
      A.destroy();
      B.destroy();
    },
  };
}

export function matmulRunner(
  id: ImplId,
  ctx: GpuContext,
  a: Float32Array,
  b: Float32Array,
  d: MatmulDims,
): Promise<MatmulRunner> {
  switch (id) {
    case "sage":
      return ctxMatmul(ctx, a, b, d, (c, x, y) => matmul(c, x, y));
    case "naive":
      return ctxMatmul(ctx, a, b, d, naiveMatmul);
    case "jax-webgpu":
      return jaxMatmulRunner("webgpu", a, b, d);
    case "jax-wasm":
      return jaxMatmulRunner("wasm", a, b, d);
  }
}
