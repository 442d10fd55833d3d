import { describe, expect, it } from "vitest";
import { DEFAULT_STABILITY_CONFIG, resolveStabilityConfig, scorePool } from "../src/index.js";
import { makeBatch } from "./helpers.js";

const C = DEFAULT_STABILITY_CONFIG;

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
    const r = scorePool(b, C);
    expect(r.score[0]).toBeGreaterThan(r.score[1]!);
    expect(r.score[1]).toBeGreaterThan(r.score[2]!);
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
    expect(r.score[0]).toBeCloseTo(8 - Math.log(0.05), 12);
    expect(Number.isFinite(r.score[2]!)).toBe(true);
    const uncapped = scorePool(b, resolveStabilityConfig({ mCap: Number.POSITIVE_INFINITY }));
    expect(uncapped.score[0]).toBeGreaterThan(uncapped.score[1]!);
  });

  it("K = 1 reduces to margin-only scoring", () => {
    const e = [0.3, -1.2, 2.5, -0.1, -4];
    const withK1 = scorePool(
      makeBatch({ policyChosen: e, policyRejected: [0, 0, 0, 0, 0], perturbed: e.map((v) => [v]) }),
      C,
    );
    const none = scorePool(makeBatch({ policyChosen: e, policyRejected: [0, 0, 0, 0, 0] }), C);
    for (let i = 0; i < e.length; i++) {
      expect(withK1.sd[i]).toBe(0);
      expect(withK1.score[i]).toBe(-e[i]! - Math.log(C.s0)); // = −e − α log s0 for −e < m_cap
      expect(none.score[i]).toBe(withK1.score[i]);
    }
    const order = (s: Float64Array) => [...s.keys()].sort((a, b) => s[b]! - s[a]!);
    expect(order(withK1.score)).toEqual([...e.keys()].sort((a, b) => e[a]! - e[b]!));
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
