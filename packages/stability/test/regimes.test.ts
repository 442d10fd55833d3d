import { describe, expect, it } from "vitest";
import { DEFAULT_STABILITY_CONFIG, resolveStabilityConfig, scorePool } from "../src/index.js";
import { makeBatch } from "./helpers.js";

const C = DEFAULT_STABILITY_CONFIG;
/** The first spec version's unstandardised score (`scale: "raw"`), for closed-form values. */
const RAW = resolveStabilityConfig({ scale: "raw" });

describe("regime tests", () => {
  it("a confident error outranks a boundary pair, which outranks a trivial pair", () => {
    // policy-source error margins (per-token preference); implicit margins set via policy vs ref sums
    const b = makeBatch({
      ids: ["confident-error", "boundary", "trivial"],
      policyChosen: [-40, -20, -10],
      policyRejected: [-10, -20, -40],
      referenceChosen: [-40, -20, -50],
      referenceRejected: [-10, -20, -0],
      chosenTokens: [10, 10, 10],
      rejectedTokens: [10, 10, 10],
      perturbed: [
        [-3.1, -2.9, -3.0, -3.0],
        [0.2, -0.2, 0.1, -0.1],
        [3.0, 3.1, 2.9, 3.0],
      ],
    });
    // raw (v1) scale: the full order confident error > boundary > trivial
    const raw = scorePool(b, RAW);
    expect(raw.score[0]).toBeGreaterThan(raw.score[1]!);
    expect(raw.score[1]).toBeGreaterThan(raw.score[2]!);
    // pool scale (default): in this 3-pair pool the boundary pair's s (0.158 vs 0.071) is 2.1 robust
    // units above the others, which puts it below the trivial pair; the confident error still ranks
    // first, and the trivial pair is set aside by the trivial filter (used only to fill batches).
    const r = scorePool(b, C);
    expect(r.score[0]).toBeGreaterThan(r.score[1]!);
    expect(r.score[0]).toBeGreaterThan(r.score[2]!);
    // implicit margins: 0, 0, 0.1·(40 + 40) = 8 → the third pair is trivial (σ(−8) < 0.02)
    expect(Array.from(r.trivial)).toEqual([0, 0, 1]);
  });

  it("a sign-flipping pair ranks below a stable pair with the same mean, and is excluded when z_min > 0", () => {
    const b = makeBatch({
      ids: ["flips", "stable"],
      policyChosen: [-1, -1],
      policyRejected: [-1, -1],
      perturbed: [
        [2, -3, 2, -3], // μ = −0.5, s = 2.5: the sign flips
        [-0.5, -0.5, -0.4, -0.6], // μ = −0.5, s ≈ 0.07
      ],
    });
    const r = scorePool(b, C);
    expect(r.mu[0]).toBeCloseTo(r.mu[1]!, 12);
    expect(r.score[0]).toBeLessThan(r.score[1]!);
    expect(Array.from(r.unstable)).toEqual([0, 0]); // z_min = 0: filter off
    const f = scorePool(b, resolveStabilityConfig({ zMin: 0.25 }));
    expect(Array.from(f.unstable)).toEqual([1, 0]); // 0.5 < 0.25·2.5
    expect(f.unstableCount).toBe(1);
  });

  it("the cap bounds extreme margins", () => {
    const b = makeBatch({
      policyChosen: [0, 0, 0],
      policyRejected: [0, 0, 0],
      perturbed: [[-1e4], [-8], [1e4]],
    });
    const r = scorePool(b, C);
    expect(r.score[0]).toBe(r.score[1]); // both capped at m_cap = 8
    expect(scorePool(b, RAW).score[0]).toBeCloseTo(8 - Math.log(0.05), 12);
    expect(Number.isFinite(r.score[2]!)).toBe(true);
    const uncapped = scorePool(b, resolveStabilityConfig({ mCap: Number.POSITIVE_INFINITY }));
    expect(uncapped.score[0]).toBeGreaterThan(uncapped.score[1]!);
  });

  it("K = 1 reduces to margin-only scoring", () => {
    const e = [0.3, -1.2, 2.5, -0.1, -4];
    const k1 = makeBatch({
      policyChosen: e,
      policyRejected: [0, 0, 0, 0, 0],
      perturbed: e.map((v) => [v]),
    });
    const plain = makeBatch({ policyChosen: e, policyRejected: [0, 0, 0, 0, 0] });
    const order = (s: Float64Array) => [...s.keys()].sort((a, b) => s[b]! - s[a]!);
    const byError = [...e.keys()].sort((a, b) => e[a]! - e[b]!);
    for (const cfg of [RAW, C]) {
      const withK1 = scorePool(k1, cfg);
      const none = scorePool(plain, cfg);
      for (let i = 0; i < e.length; i++) {
        expect(withK1.sd[i]).toBe(0);
        expect(none.score[i]).toBe(withK1.score[i]);
      }
      expect(order(withK1.score)).toEqual(byError);
    }
    // raw: S = −e − α log s0 for −e < m_cap; pool: the noise term is constant, so ẑ(b) = 0 and
    // S = ẑ(−e) = (−e − median(−e)) / (1.4826 · MAD): median(−e) = 0.1, MAD = median(0.2, 1.1,
    // 2.6, 0, 3.9) = 1.1
    const raw = scorePool(k1, RAW);
    const pool = scorePool(k1, C);
    for (let i = 0; i < e.length; i++) {
      expect(raw.score[i]).toBe(-e[i]! - Math.log(C.s0));
      expect(pool.score[i]).toBeCloseTo((-e[i]! - 0.1) / (1.4826 * 1.1), 12);
    }
  });

  it("the policy error margin ranks pairs at step 0, where every implicit margin is 0", () => {
    // policy = reference: implicit m = 0 for every pair
    const pw = [-12, -30, -8, -20];
    const pl = [-10, -10, -16, -20];
    const b = makeBatch({
      policyChosen: pw,
      policyRejected: pl,
      referenceChosen: pw,
      referenceRejected: pl,
      chosenTokens: [4, 10, 4, 5],
      rejectedTokens: [5, 5, 4, 5],
    });
    const implicit = scorePool(b, resolveStabilityConfig({ errorMargin: "implicit" }));
    expect(new Set(implicit.score).size).toBe(1); // cannot rank anything
    expect(Array.from(implicit.margin).every((m) => m === 0)).toBe(true);
    const policy = scorePool(b, C);
    // e = [−3+2, −3+2, −2+4, −4+4] = [−1, −1, 2, 0]
    expect(Array.from(policy.errorMargin)).toEqual([-1, -1, 2, 0]);
    expect(policy.score[0]).toBeGreaterThan(policy.score[3]!);
    expect(policy.score[3]).toBeGreaterThan(policy.score[2]!);
  });
});
