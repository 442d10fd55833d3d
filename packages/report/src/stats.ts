import { Rng } from "@sage/core";
import { ReportError } from "./errors.js";

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error below 1e-14 for the arguments used here). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction for the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(a, b, x)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** CDF of Student's t distribution with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/**
 * Quantile of Student's t: the `t` with `P(T ≤ t) = p`, by bisection on the CDF (to ~1e-12).
 * `studentTQuantile(0.975, 2) ≈ 4.302653`.
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1))
    throw ReportError.mismatch("OPTION_INVALID", "t quantile p", "a number in (0, 1)", p);
  if (!(df > 0) || !Number.isFinite(df)) {
    throw ReportError.mismatch("OPTION_INVALID", "t quantile df", "a finite number > 0", df);
  }
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-13 * Math.max(1, hi); i++) {
    const mid = 0.5 * (lo + hi);
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** Arithmetic mean (throws on an empty list). */
export function mean(values: readonly number[]): number {
  if (values.length === 0)
    throw new ReportError("INPUT_INVALID", "mean: expected at least one value, received none");
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Sample standard deviation (n − 1 denominator); 0 for one value. */
export function sampleStd(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  let s = 0;
  for (const v of values) s += (v - m) * (v - m);
  return Math.sqrt(s / (values.length - 1));
}

/**
 * Mean with a two-sided t interval: `mean ± t_{(1+confidence)/2, n−1} · s / √n`. With one value the
 * bounds are null (no spread to estimate).
 */
export function meanInterval(
  values: readonly number[],
  confidence = 0.95,
): { mean: number; lo: number | null; hi: number | null; n: number } {
  const m = mean(values);
  const n = values.length;
  if (n < 2) return { mean: m, lo: null, hi: null, n };
  const half = (studentTQuantile((1 + confidence) / 2, n - 1) * sampleStd(values)) / Math.sqrt(n);
  return { mean: m, lo: m - half, hi: m + half, n };
}

/**
 * Welch's interval for `mean(a) − mean(b)` (unequal variances, Welch–Satterthwaite df). Bounds are
 * null when either side has fewer than two values or both have zero spread and differ (the
 * interval is then the point itself: lo = hi = diff).
 */
export function welchDifference(
  a: readonly number[],
  b: readonly number[],
  confidence = 0.95,
): { diff: number; lo: number | null; hi: number | null } {
  const diff = mean(a) - mean(b);
  if (a.length < 2 || b.length < 2) return { diff, lo: null, hi: null };
  const va = sampleStd(a) ** 2 / a.length;
  const vb = sampleStd(b) ** 2 / b.length;
  const se2 = va + vb;
  if (se2 === 0) return { diff, lo: diff, hi: diff };
  const df = (se2 * se2) / ((va * va) / (a.length - 1) + (vb * vb) / (b.length - 1));
  const half = studentTQuantile((1 + confidence) / 2, df) * Math.sqrt(se2);
  return { diff, lo: diff - half, hi: diff + half };
}

/** Linear-interpolation quantile (type 7) of sorted values. */
function sortedQuantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const i = Math.floor(pos);
  const f = pos - i;
  const a = sorted[i]!;
  const b = sorted[Math.min(i + 1, sorted.length - 1)]!;
  return a + f * (b - a);
}

/**
 * Ratio of means `mean(num) / mean(den)` with a percentile-bootstrap interval: each resample draws
 * both groups with replacement (independently), `resamples` times, from `@sage/core`'s `Rng` seeded
 * with `seed`, so the same input always gives the same interval. With a group of one value the
 * bounds are null.
 */
export function bootstrapRatio(
  num: readonly number[],
  den: readonly number[],
  options: { confidence?: number; resamples?: number; seed?: number } = {},
): { value: number; lo: number | null; hi: number | null } {
  const confidence = options.confidence ?? 0.95;
  const resamples = options.resamples ?? 2000;
  const value = mean(num) / mean(den);
  if (num.length < 2 || den.length < 2) return { value, lo: null, hi: null };
  const rng = new Rng(options.seed ?? 0x5a6e);
  const draw = (xs: readonly number[]): number => {
    let s = 0;
    for (let i = 0; i < xs.length; i++) s += xs[rng.int(xs.length)]!;
    return s / xs.length;
  };
  const ratios: number[] = [];
  for (let r = 0; r < resamples; r++) ratios.push(draw(num) / draw(den));
  ratios.sort((x, y) => x - y);
  const alpha = (1 - confidence) / 2;
  return { value, lo: sortedQuantile(ratios, alpha), hi: sortedQuantile(ratios, 1 - alpha) };
}

/**
 * Ratio of means `mean(num) / mean(den)` of PAIRED values (`num[i]` and `den[i]` from the same
 * seed) with a paired percentile-bootstrap interval: each resample draws seed indices with
 * replacement and takes `Σ num[i] / Σ den[i]` over the drawn indices, `resamples` times, from
 * `@sage/core`'s `Rng` seeded with `seed` (same input, same interval). Bounds are null with fewer than
 * two pairs. Throws when the lengths differ or a `den` value is not > 0.
 */
export function pairedBootstrapRatio(
  num: readonly number[],
  den: readonly number[],
  options: { confidence?: number; resamples?: number; seed?: number } = {},
): { value: number; lo: number | null; hi: number | null } {
  if (num.length !== den.length || num.length === 0) {
    throw ReportError.mismatch(
      "INPUT_INVALID",
      "pairedBootstrapRatio",
      `two non-empty lists of equal length (one value per seed; numerator has ${num.length})`,
      den.length,
    );
  }
  for (const d of den) {
    if (!(d > 0))
      throw ReportError.mismatch("INPUT_INVALID", "pairedBootstrapRatio denominator", "values > 0", d);
  }
  const confidence = options.confidence ?? 0.95;
  const resamples = options.resamples ?? 2000;
  const value = mean(num) / mean(den);
  const n = num.length;
  if (n < 2) return { value, lo: null, hi: null };
  const rng = new Rng(options.seed ?? 0x5a6e);
  const ratios: number[] = [];
  for (let r = 0; r < resamples; r++) {
    let a = 0;
    let b = 0;
    for (let k = 0; k < n; k++) {
      const i = rng.int(n);
      a += num[i]!;
      b += den[i]!;
    }
    ratios.push(a / b);
  }
  ratios.sort((x, y) => x - y);
  const alpha = (1 - confidence) / 2;
  return { value, lo: sortedQuantile(ratios, alpha), hi: sortedQuantile(ratios, 1 - alpha) };
}
