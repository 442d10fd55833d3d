/**
 * Finite-difference helpers for the model-op tests. The references are float64, so a central
 * difference with h = 1e-5 has truncation error O(h²·f''') ≈ 1e-10 and rounding error
 * O(ε·|f|/h) ≈ 1e-11·|f|; the checks use |fd − grad| ≤ 1e-6·(1 + |grad|).
 */
import { expect } from "vitest";
import { KernelError } from "../src/runtime/errors.js";
import { rng } from "../src/testing.js";

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

export function randomF64(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** Check `grad` = ∂f/∂x at up to `samples` random coordinates by central differences. */
export function fdCheck(
  f: (x: Float64Array) => number,
  x: ArrayLike<number>,
  grad: ArrayLike<number>,
  label: string,
  { h = 1e-5, tol = 1e-6, samples = 16, seed = 1 } = {},
): void {
  const xs = Float64Array.from(x);
  const r = rng(seed);
  const n = xs.length;
  const idx =
    n <= samples
      ? Array.from({ length: n }, (_, i) => i)
      : Array.from({ length: samples }, () => Math.floor(r() * n));
  for (const i of idx) {
    const x0 = xs[i] as number;
    xs[i] = x0 + h;
    const fp = f(xs);
    xs[i] = x0 - h;
    const fm = f(xs);
    xs[i] = x0;
    const fd = (fp - fm) / (2 * h);
    const g = grad[i] as number;
    if (!(Math.abs(fd - g) <= tol * (1 + Math.abs(g)))) {
      expect.fail(`${label}: ∂f/∂x[${i}] finite difference ${fd} vs analytic ${g}`);
    }
  }
}

/** Run `f`, expect a KernelError-like throw, return its code ("none" when nothing was thrown). */
export function errorCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    expect(typeof code).toBe("string");
    return code as string;
  }
  return "none";
}

/** {@link errorCode}, also requiring what was thrown to be a `KernelError`. */
export function kernelErrorCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(KernelError);
    return (e as KernelError).code;
  }
  return "none";
}

export async function asyncErrorCode(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
  } catch (e) {
    return String((e as { code?: unknown }).code);
  }
  return "none";
}
