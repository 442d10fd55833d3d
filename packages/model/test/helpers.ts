/** Shared test helpers. */
import { expect } from "vitest";
import { ModelError } from "../src/errors.js";

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (!(d <= m)) m = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return m;
}

/**
 * f32 GPU vs f64 reference. Errors come from f32 rounding through ~10 dependent ops per layer
 * (observed ≤ 2e-6 relative to the largest |value| of a tensor); the bound 3e-5·max(1, scale)
 * leaves 10× margin and still fails on any real bug (a wrong term is ≥ 1e-3 relative).
 */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
  rel = 3e-5,
): void {
  expect(actual.length, what).toBe(expected.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    err = Math.max(err, Math.abs((actual[i] as number) - (expected[i] as number)));
    scale = Math.max(scale, Math.abs(expected[i] as number));
  }
  expect(Number.isFinite(err), what).toBe(true);
  expect(err, `${what}: max |Δ| ${err} (scale ${scale})`).toBeLessThanOrEqual(rel * Math.max(1, scale));
}

/** The `ModelError` code `f` throws ("no error" when it returns); any other error is rethrown. */
export function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (!(e instanceof ModelError)) throw e;
    return e.code;
  }
  return "no error";
}
