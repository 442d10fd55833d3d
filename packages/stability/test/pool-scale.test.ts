import { describe, expect, it } from "vitest";
import {
  DEFAULT_STABILITY_CONFIG,
  median,
  Rng,
  resolveStabilityConfig,
  robustSpread,
  robustZ,
  scorePool,
} from "../src/index.js";
import { makeBatch } from "./helpers.js";

// Hand computations below are exact in decimal; 1e-12 absolute covers double rounding.
const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThan(1e-12);

function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]! / n;
    my += y[i]! / n;
  }
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

describe("pool standardisation ẑ (spec v2, scale = pool)", () => {
  it("median, 1.4826·MAD and robust z-scores match a hand computation", () => {
    // odd count: median 3, |x − 3| = (2, 1, 0, 1, 97) → MAD 1 → d = 1.4826
    const x = [1, 2, 3, 4, 100];
    expect(median(x)).toBe(3);
    close(robustSpread(x), 1.4826);
    const z = robustZ(x);
    for (const [i, dev] of [-2, -1, 0, 1, 97].entries()) close(z[i]!, dev / 1.4826);
    // even count: median (2 + 4)/2 = 3, |x − 3| = (2, 1, 1, 5) → MAD (1 + 2)/2 = 1.5
    expect(median([8, 1, 4, 2])).toBe(3);
    close(robustSpread([8, 1, 4, 2]), 1.4826 * 1.5);
  });

  it("falls back to the standard deviation when the MAD is 0, and gives 0 when both are 0", () => {
    // (5, 5, 5, 9): median 5, MAD = median(0, 0, 0, 4) = 0 → population std: mean 6,
    // variance (1 + 1 + 1 + 9)/4 = 3
    const x = [5, 5, 5, 9];
    close(robustSpread(x), Math.sqrt(3));
    const z = robustZ(x);
    expect(Array.from(z.subarray(0, 3))).toEqual([0, 0, 0]);
    close(z[3]!, 4 / Math.sqrt(3));
    // all equal: MAD 0 and std 0 → the term is 0 for every pair
    expect(Array.from(robustZ([2, 2, 2]))).toEqual([0, 0, 0]);
    expect(Array.from(robustZ([7]))).toEqual([0]);
    expect(robustZ([]).length).toBe(0);
    expect(robustSpread([])).toBe(0);
  });

  it("scorePool's pool score is ẑ(a) − α·ẑ(b), by hand", () => {
    // μ = (−2, 0, 1, −1, 3) (no perturbed margins: s = 0 for all → b constant → ẑ(b) = 0)
    const mu = [-2, 0, 1, -1, 3];
    const plain = makeBatch({ policyChosen: mu, policyRejected: [0, 0, 0, 0, 0] });
    // a = −μ = (2, 0, −1, 1, −3): median 0, MAD = median(2, 0, 1, 1, 3) = 1
    const r = scorePool(plain, DEFAULT_STABILITY_CONFIG);
    for (const [i, a] of [2, 0, -1, 1, -3].entries()) close(r.score[i]!, a / 1.4826);
    close(r.errorTerm[0]!, 2);
    close(r.noiseTerm[0]!, Math.log(0.05));
    // with spread: pairs with K = 2 margins μ ± δ → s = δ
    // μ = (−1, −1, 0, 2), s = (0.05, 0.95, 0.45, 0.05) → b = log(s + 0.05) = log(0.1, 1, 0.5, 0.1)
    const m = [-1, -1, 0, 2];
    const s = [0.05, 0.95, 0.45, 0.05];
    const b = makeBatch({
      policyChosen: m,
      policyRejected: [0, 0, 0, 0],
      perturbed: m.map((v, i) => [v - s[i]!, v + s[i]!]),
    });
    const cfg = resolveStabilityConfig({ alpha: 2 });
    const q = scorePool(b, cfg);
    // a = (1, 1, 0, −2): median 0.5, |a − 0.5| = (0.5, 0.5, 0.5, 2.5) → MAD 0.5
    const za = [1, 1, 0, -2].map((v) => (v - 0.5) / (1.4826 * 0.5));
    // b = (ln 0.1, 0, ln 0.5, ln 0.1): median (ln 0.1 + ln 0.5)/2; deviations of ln 0.1 and ln 0.5
    // are ±ln(5)/2, of 0 is ln 20 / 2 … → MAD = ln(5)/2
    const lb = [Math.log(0.1), 0, Math.log(0.5), Math.log(0.1)];
    const mb = (Math.log(0.1) + Math.log(0.5)) / 2;
    const zb = lb.map((v) => (v - mb) / (1.4826 * (Math.log(5) / 2)));
    for (let i = 0; i < 4; i++) close(q.score[i]!, za[i]! - 2 * zb[i]!);
    // raw scale: a − α·b
    const raw = scorePool(b, resolveStabilityConfig({ alpha: 2, scale: "raw" }));
    for (let i = 0; i < 4; i++) close(raw.score[i]!, [1, 1, 0, -2][i]! - 2 * lb[i]!);
  });

  it("fixes the v1 failure mode: under raw the noise term decides the ranking, under pool both terms count", () => {
    // A pool shaped like the spec's real one (129 on-policy pairs): error margins in nats per
    // token with a small spread, noise levels s spread over an order of magnitude and more, so that
    // log(s + s0) has ≈ 3× the spread of min(−μ, m_cap).
    const rng = new Rng(129);
    const n = 129;
    const k = 4;
    const mu = Array.from({ length: n }, () => 0.3 * rng.normal());
    const sd = Array.from({ length: n }, () => Math.exp(-1.5 + 1.1 * rng.normal()));
    const perturbed: number[][] = mu.map((m, i) => {
      // four margins with mean exactly m and population std exactly sd[i]: m ± sd (two each)
      const d = sd[i]!;
      return [m - d, m + d, m - d, m + d];
    });
    const batch = makeBatch({ policyChosen: mu, policyRejected: new Array(n).fill(0), perturbed });
    expect(batch.k).toBe(k);
    const raw = scorePool(batch, resolveStabilityConfig({ scale: "raw" }));
    const pool = scorePool(batch, DEFAULT_STABILITY_CONFIG);
    const spreadRatio = robustSpread(raw.noiseTerm) / robustSpread(raw.errorTerm);
    expect(spreadRatio).toBeGreaterThan(2.5);
    const negB = Array.from(raw.noiseTerm, (v) => -v);
    // raw: S follows the noise term almost alone (the spec measured 0.95), the error term barely
    const rawNoise = pearson(raw.score, negB);
    const rawError = pearson(raw.score, raw.errorTerm);
    // pool: both standardised terms carry comparable weight
    const poolNoise = pearson(pool.score, negB);
    const poolError = pearson(pool.score, pool.errorTerm);
    console.log(
      `noise/error spread ${spreadRatio.toFixed(2)}; corr(S, −b) raw ${rawNoise.toFixed(3)} pool ${poolNoise.toFixed(3)}; corr(S, a) raw ${rawError.toFixed(3)} pool ${poolError.toFixed(3)}`,
    );
    expect(rawNoise).toBeGreaterThan(0.9);
    expect(rawError).toBeLessThan(0.45);
    expect(poolError).toBeGreaterThan(0.6);
    expect(poolNoise).toBeLessThan(0.8);
    // the score prefers errors again: the top quarter by S is mostly confident errors (μ < 0)
    const top = (s: Float64Array) => [...s.keys()].sort((a, b) => s[b]! - s[a]!).slice(0, Math.floor(n / 4));
    const errorsIn = (ids: number[]) => ids.filter((i) => mu[i]! < 0).length / ids.length;
    expect(errorsIn(top(pool.score))).toBeGreaterThan(errorsIn(top(raw.score)) + 0.15);
    expect(errorsIn(top(pool.score))).toBeGreaterThan(0.75);
  });
});
