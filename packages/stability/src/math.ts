/**
 * Scalar formulas of the SAGE spec, all numerically stable for |m| up to and beyond 1e4.
 *
 * `m` is DPO's implicit reward margin `β (r(y_w) − r(y_l))`.
 */

/** `log σ(x)` without overflow: `−log1p(e^{−x})` for x ≥ 0, `x − log1p(e^{x})` otherwise. */
export function logSigmoid(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

/** `σ(x) = 1 / (1 + e^{−x})` without overflow. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** `softplus(x) = log(1 + e^x)` without overflow. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** DPO margin `β · ((πw − refw) − (πl − refl))` from sequence log-probs. */
export function dpoMargin(
  beta: number,
  policyChosen: number,
  policyRejected: number,
  referenceChosen: number,
  referenceRejected: number,
): number {
  return beta * (policyChosen - referenceChosen - (policyRejected - referenceRejected));
}

/** Signal `g = σ(−m)`: DPO's per-pair gradient weight. */
export function signal(m: number): number {
  return sigmoid(-m);
}

/** Curvature `h = σ(m) σ(−m) = d²L/dm²`; computed in log space, so it underflows to 0 gracefully. */
export function curvature(m: number): number {
  return Math.exp(logSigmoid(m) + logSigmoid(-m));
}

/** `log λ² = −m`: the log of the Newton decrement along the margin. */
export function logNewtonDecrement(m: number): number {
  return -m;
}

/** Newton decrement `λ² = g²/h = e^{−m}` (overflows to Infinity for m < −709; use the log form). */
export function newtonDecrement(m: number): number {
  return Math.exp(-m);
}

/** DPO loss `−log σ(m)`. */
export function dpoLoss(m: number): number {
  return -logSigmoid(m);
}

/** Mean and population standard deviation (divide by K) of `values[offset .. offset + k)`. */
export function meanStd(
  values: ArrayLike<number>,
  offset = 0,
  k = values.length,
): { mean: number; std: number } {
  let sum = 0;
  for (let j = 0; j < k; j++) sum += values[offset + j]!;
  const mean = sum / k;
  let ss = 0;
  for (let j = 0; j < k; j++) {
    const d = values[offset + j]! - mean;
    ss += d * d;
  }
  return { mean, std: Math.sqrt(ss / k) };
}

/** Quantiles (linear interpolation between order statistics) of a sample; empty input → NaNs. */
export function quantiles(values: ArrayLike<number>, qs: readonly number[]): number[] {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  return qs.map((q) => {
    if (n === 0) return Number.NaN;
    const pos = q * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(n - 1, lo + 1);
    return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
  });
}

/** Median of a sample (mean of the two middle order statistics for an even count); empty → NaN. */
export function median(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const h = n >> 1;
  return n % 2 === 1 ? sorted[h]! : (sorted[h - 1]! + sorted[h]!) / 2;
}

/** Consistency constant of the MAD: `1.4826 · MAD` estimates σ for normal data. */
export const MAD_SCALE = 1.4826;

/**
 * Robust spread used by the pool standardisation (spec v2, "Score"): `1.4826 · MAD(x)`
 * (`MAD = median |x_i − median(x)|`), falling back to the population standard deviation when the
 * MAD is 0 (e.g. more than half of the values are equal); 0 when both are 0 or the sample is empty.
 */
export function robustSpread(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return 0;
  const med = median(values);
  const dev = new Float64Array(n);
  for (let i = 0; i < n; i++) dev[i] = Math.abs(values[i]! - med);
  const mad = median(dev);
  if (mad > 0) return MAD_SCALE * mad;
  return meanStd(values).std;
}

/**
 * Robust z-scores over a sample: `ẑ(x)_i = (x_i − median(x)) / d(x)` with `d = robustSpread(x)`;
 * every entry is 0 when `d = 0` (all values equal). This is the `scale: "pool"` standardisation of
 * the SAGE score's two terms.
 */
export function robustZ(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const out = new Float64Array(n);
  const d = robustSpread(values);
  if (d === 0) return out;
  const med = median(values);
  for (let i = 0; i < n; i++) out[i] = (values[i]! - med) / d;
  return out;
}
