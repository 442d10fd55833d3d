/**
 * Float64 references and the tolerances the suite checks every implementation against before
 * timing it. Written here, independently of the package's own references, so that a bug shared
 * by a kernel and its reference cannot hide.
 */

export interface LogprobRef {
  logp: Float64Array;
  lse: Float64Array;
  /** Allowed |error| per row (see {@link logprobTolerance}). */
  tol: Float64Array;
}

/**
 * Allowed |logp − ref| for one row: the worst-case f32 error of a V-term sum of exponentials
 * (relative V·2⁻²⁴, i.e. absolute V·2⁻²⁴ after the log), plus rounding of the final subtraction
 * `x_t − lse` (a few ulps of |x_t| + |lse|, which matters for logits of ±1e4), plus 1e-6.
 * Real kernels (tree or online reductions) land orders of magnitude inside this; a wrong kernel
 * (missed chunk, wrong row, no max-subtraction) lands far outside.
 */
export function logprobTolerance(V: number, xt: number, lse: number): number {
  return 2 ** -24 * (V + 4 * (Math.abs(xt) + Math.abs(lse))) + 1e-6;
}

export function logprobRef(logits: Float32Array, targets: Int32Array, rows: number, V: number): LogprobRef {
  const logp = new Float64Array(rows);
  const lse = new Float64Array(rows);
  const tol = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * V;
    let m = Number.NEGATIVE_INFINITY;
    for (let v = 0; v < V; v++) m = Math.max(m, logits[base + v] as number);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp((logits[base + v] as number) - m);
    const l = m + Math.log(s);
    const xt = logits[base + (targets[r] as number)] as number;
    lse[r] = l;
    logp[r] = xt - l;
    tol[r] = logprobTolerance(V, xt, l);
  }
  return { logp, lse, tol };
}

export interface CheckResult {
  ok: boolean;
  /** Largest |actual − expected|. */
  maxAbsErr: number;
  /** Element with the largest error relative to its tolerance. */
  worst: { index: number; actual: number; expected: number; tol: number } | undefined;
  checked: number;
  note?: string;
}

/** Compare element-wise: |actual[i] − expected[i]| ≤ tol[i] (NaN never passes). */
export function check(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: ArrayLike<number>,
  indices?: readonly number[],
): CheckResult {
  const idx = indices ?? Array.from({ length: expected.length }, (_, i) => i);
  if (actual.length < expected.length && !indices) {
    return {
      ok: false,
      maxAbsErr: Number.NaN,
      worst: undefined,
      checked: 0,
      note: `expected ${expected.length} outputs, received ${actual.length}`,
    };
  }
  let maxAbsErr = 0;
  let worstRatio = -1;
  let worst: CheckResult["worst"];
  let ok = true;
  for (const i of idx) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    const t = tol[i] as number;
    const err = Math.abs(a - e);
    const ratio = Number.isNaN(err) ? Number.POSITIVE_INFINITY : err / t;
    if (!(err <= t)) ok = false;
    if (!Number.isNaN(err)) maxAbsErr = Math.max(maxAbsErr, err);
    else maxAbsErr = Number.NaN;
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worst = { index: i, actual: a, expected: e, tol: t };
    }
  }
  return { ok, maxAbsErr, worst, checked: idx.length };
}

export interface MatmulSample {
  /** Flat indices into C [m, n]. */
  indices: number[];
  expected: Float64Array;
  /** Allowed |error| per sampled element: K·2⁻²⁴·Σ_k |a_ik·b_kj| + 1e-6 (the γ_K bound for f32 dot products). */
  tol: Float64Array;
}

/** Reference values of C = A·B at `count` elements (all of them when count ≥ m·n), in float64. */
export function matmulRefSample(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  count: number,
  seed = 1,
): MatmulSample {
  const total = m * n;
  const indices: number[] = [];
  if (count >= total) {
    for (let i = 0; i < total; i++) indices.push(i);
  } else {
    let s = seed >>> 0;
    const seen = new Set<number>([0, total - 1]);
    indices.push(0, total - 1);
    while (indices.length < count) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const i = s % total;
      if (!seen.has(i)) {
        seen.add(i);
        indices.push(i);
      }
    }
  }
  const expected = new Float64Array(indices.length);
  const tol = new Float64Array(indices.length);
  indices.forEach((flat, j) => {
    const row = Math.floor(flat / n);
    const col = flat % n;
    let sum = 0;
    let abs = 0;
    for (let p = 0; p < k; p++) {
      const prod = (a[row * k + p] as number) * (b[p * n + col] as number);
      sum += prod;
      abs += Math.abs(prod);
    }
    expected[j] = sum;
    tol[j] = k * 2 ** -24 * abs + 1e-6;
  });
  return { indices, expected, tol };
}
