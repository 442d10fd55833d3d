/**
 * Test helpers: a tracked context that fails on leaked tensors and GPU validation errors, and an
 * `allclose` check with `atol + |ref|·rtol` tolerance (the llm.c / jax-js convention).
 */
import { Rng } from "@sage/core";
import { type CreateContextOptions, createContext, type GpuContext } from "./runtime/context.js";
import { KernelError } from "./runtime/errors.js";

/** Open a context for tests. In CI (`CI=true`) a missing adapter is an error, never a skip. */
export async function createTestContext(options: CreateContextOptions = {}): Promise<GpuContext> {
  return createContext({ label: "test", ...options });
}

/** Throw if the context has live tensors or captured GPU errors. Call at the end of each test. */
export async function expectClean(ctx: GpuContext): Promise<void> {
  await ctx.sync();
  if (ctx.liveTensors > 0) {
    const labels = ctx.liveTensorLabels();
    throw new KernelError(
      "RESOURCE_LEAKED",
      `${labels.length} tensor(s) not destroyed: ${labels.slice(0, 8).join("; ")}`,
    );
  }
}

export interface AllcloseOptions {
  rtol?: number;
  atol?: number;
  label?: string;
}

/** Largest violation of |a − b| ≤ atol + rtol·|b|, or undefined if all elements pass. */
export function allcloseViolation(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { rtol = 1e-5, atol = 1e-6 }: AllcloseOptions = {},
): { index: number; actual: number; expected: number; excess: number } | undefined {
  let worst: { index: number; actual: number; expected: number; excess: number } | undefined;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const b = expected[i] as number;
    if (Object.is(a, b) || a === b) continue;
    const err = Math.abs(a - b);
    const tol = atol + rtol * Math.abs(b);
    const excess = Number.isNaN(err) ? Number.POSITIVE_INFINITY : err - tol;
    if (excess > 0 && (!worst || excess > worst.excess)) worst = { index: i, actual: a, expected: b, excess };
  }
  return worst;
}

/** Assert elementwise closeness; the message names the worst element. */
export function assertAllclose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  opts: AllcloseOptions = {},
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${opts.label ?? "allclose"}: length ${actual.length} ≠ expected ${expected.length}`);
  }
  const v = allcloseViolation(actual, expected, opts);
  if (v) {
    throw new Error(
      `${opts.label ?? "allclose"}: element ${v.index} = ${v.actual}, expected ${v.expected} ` +
        `(atol ${opts.atol ?? 1e-6}, rtol ${opts.rtol ?? 1e-5}; over by ${v.excess.toExponential(2)})`,
    );
  }
}

/** Uniform draws in [0, 1) for reproducible test inputs, from `@sage/core`'s seeded `Rng`. */
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** Float32Array of uniform values in [lo, hi). */
export function randomF32(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}
