import { describe, expect, it } from "vitest";
import {
  bootstrapRatio,
  meanInterval,
  ReportError,
  studentTCdf,
  studentTQuantile,
  welchDifference,
} from "../src/index.js";

// Reference values from scipy.stats.t (ppf/cdf), float64. Our quantile is a bisection on a
// continued-fraction CDF, accurate to ~1e-12 relative; 1e-9 leaves room without hiding a bug
// (a wrong df or tail would be off by > 1e-2).
const T975: [number, number][] = [
  [1, 12.706204736174694],
  [2, 4.302652729749462],
  [4, 2.7764451051977934],
  [10, 2.228138851986274],
  [29, 2.045229642132703],
  [50 / 17, 3.218758614532882],
];

describe("Student t", () => {
  it.each(T975)("0.975 quantile with df = %f matches scipy", (df, q) => {
    expect(Math.abs(studentTQuantile(0.975, df) - q) / q).toBeLessThan(1e-9);
    expect(studentTQuantile(0.025, df)).toBeCloseTo(-q, 9);
  });

  it("CDF matches scipy and is symmetric", () => {
    expect(studentTCdf(1.5, 3)).toBeCloseTo(0.8847080673775886, 12);
    expect(studentTCdf(-1.5, 3)).toBeCloseTo(1 - 0.8847080673775886, 12);
    expect(studentTCdf(0, 7)).toBe(0.5);
  });

  it("rejects p outside (0, 1)", () => {
    expect(() => studentTQuantile(1, 3)).toThrow(ReportError);
    expect(() => studentTQuantile(0.9, 0)).toThrow(/df/);
  });
});

describe("intervals", () => {
  it("mean ± t·s/√n by hand: [1, 2, 3] → 2 ± 4.3027/√3", () => {
    const iv = meanInterval([1, 2, 3]);
    const half = 4.302652729749462 / Math.sqrt(3); // s = 1
    expect(iv.mean).toBe(2);
    expect(iv.n).toBe(3);
    expect(iv.lo!).toBeCloseTo(2 - half, 10);
    expect(iv.hi!).toBeCloseTo(2 + half, 10);
  });

  it("one value has no interval", () => {
    expect(meanInterval([0.4])).toEqual({ mean: 0.4, lo: null, hi: null, n: 1 });
  });

  it("Welch difference by hand: [1,2,3] − [2,4,6]", () => {
    // va = 1/3, vb = 4/3, se² = 5/3, df = (5/3)² / ((1/3)²/2 + (4/3)²/2) = 50/17
    const d = welchDifference([1, 2, 3], [2, 4, 6]);
    const half = 3.218758614532882 * Math.sqrt(5 / 3);
    expect(d.diff).toBe(-2);
    expect(d.lo!).toBeCloseTo(-2 - half, 9);
    expect(d.hi!).toBeCloseTo(-2 + half, 9);
  });

  it("Welch with zero spread collapses to the point", () => {
    const d = welchDifference([0.5, 0.5], [0.4, 0.4]);
    expect(d.diff).toBeCloseTo(0.1, 14);
    expect(d.lo).toBe(d.diff);
    expect(d.hi).toBe(d.diff);
  });
});

describe("bootstrap ratio", () => {
  it("value is the ratio of means; constant groups give a degenerate interval", () => {
    expect(bootstrapRatio([1, 1], [2, 2])).toEqual({ value: 0.5, lo: 0.5, hi: 0.5 });
  });

  it("is deterministic for a seed, brackets the estimate, stays within the resample range", () => {
    const num = [25, 40, 31];
    const den = [80, 100, 95];
    const a = bootstrapRatio(num, den, { seed: 7 });
    const b = bootstrapRatio(num, den, { seed: 7 });
    expect(a).toEqual(b);
    // another seed gives another interval (on groups large enough that the bounds are not atoms)
    const many = Array.from({ length: 12 }, (_, i) => 20 + ((i * 7) % 13));
    const manyDen = Array.from({ length: 12 }, (_, i) => 80 + ((i * 5) % 11));
    const c7 = bootstrapRatio(many, manyDen, { seed: 7 });
    const c8 = bootstrapRatio(many, manyDen, { seed: 8 });
    expect(c8.lo).not.toBe(c7.lo);
    expect(a.value).toBeCloseTo(96 / 275, 14);
    expect(a.lo!).toBeLessThanOrEqual(a.value);
    expect(a.hi!).toBeGreaterThanOrEqual(a.value);
    // the extreme resamples are min(num)/max(den) and max(num)/min(den)
    expect(a.lo!).toBeGreaterThanOrEqual(25 / 100);
    expect(a.hi!).toBeLessThanOrEqual(40 / 80);
  });

  it("has no interval with one seed", () => {
    expect(bootstrapRatio([30], [60])).toEqual({ value: 0.5, lo: null, hi: null });
  });
});
