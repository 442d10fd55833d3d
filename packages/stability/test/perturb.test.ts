import { describe, expect, it } from "vitest";
import {
  applyTokenDropout,
  DEFAULT_STABILITY_CONFIG,
  forwardPassesPerPair,
  implicitMargins,
  MarginHistory,
  marginsFromPasses,
  Rng,
  resolveStabilityConfig,
  scorePool,
  tokenDropoutErrorMargins,
  tokenDropoutMasks,
  tokenDropoutWeights,
  tokenDropoutWeightsPadded,
} from "../src/index.js";
import { makeBatch } from "./helpers.js";

describe("token dropout", () => {
  it("masks are K × n, deterministic in (seed, pairKey, side), and keep ≥ 1 token", () => {
    const o = { k: 4, rho: 0.1, seed: 7, pairKey: 123, side: 0 as const };
    const a = tokenDropoutMasks(37, o);
    expect(a.length).toBe(4 * 37);
    expect(tokenDropoutMasks(37, o)).toEqual(a);
    expect(tokenDropoutMasks(37, { ...o, side: 1 })).not.toEqual(a);
    expect(tokenDropoutMasks(37, { ...o, pairKey: 124 })).not.toEqual(a);
    expect(() => tokenDropoutMasks(37, { ...o, pairKey: -1 })).toThrow(
      /pairKey: expected a non-negative integer/,
    );
    expect(() => tokenDropoutMasks(0, o)).toThrow(/nTokens: expected an integer ≥ 1, received 0/);
    // with ρ = 0.9 and one token, 90% of masks would be empty without the keep-one rule
    for (let key = 0; key < 200; key++) {
      const m = tokenDropoutMasks(1, { k: 3, rho: 0.9, seed: 1, pairKey: key, side: 0 });
      expect(Array.from(m)).toEqual([1, 1, 1]);
    }
  });

  it("keep rate is 1 − ρ", () => {
    // 100 000 Bernoulli(0.9) draws: std of the mean ≈ 0.00095; tolerance 0.005 ≈ 5σ
    const m = tokenDropoutMasks(25_000, { k: 4, rho: 0.1, seed: 3, pairKey: 0, side: 0 });
    const rate = m.reduce((s, v) => s + v, 0) / m.length;
    expect(Math.abs(rate - 0.9)).toBeLessThan(0.005);
  });

  it("applies masks with the kept-fraction rescale; weights give the same sums", () => {
    const lp = [-1, -2, -3, -4];
    const masks = [1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 1];
    // all kept: −10; kept {−1,−3}: −4 · 4/2 = −8; kept {−4}: −4 · 4 = −16
    expect(Array.from(applyTokenDropout(lp, masks, 3))).toEqual([-10, -8, -16]);
    expect(Array.from(applyTokenDropout(lp, masks, 3, { normalize: true }))).toEqual([-2.5, -2, -4]);
    const rng = new Rng(5);
    const tok = Array.from({ length: 53 }, () => -5 * rng.next());
    const o = { k: 4, rho: 0.3, seed: 9, pairKey: 11, side: 1 as const };
    const w = tokenDropoutWeights(53, o);
    const sums = applyTokenDropout(tok, tokenDropoutMasks(53, o), 4);
    for (let j = 0; j < 4; j++) {
      let s = 0;
      for (let t = 0; t < 53; t++) s += w[j * 53 + t]! * tok[t]!;
      // float32 weights: relative error ≤ ~1e-7 per term; 1e-5 relative is a safe bound
      expect(Math.abs(s - sums[j]!)).toBeLessThan(1e-5 * Math.abs(sums[j]!));
    }
  });

  it("padded weights put each row's masks at [k][row][t] with zero padding", () => {
    const o = { k: 2, rho: 0.2, seed: 4, side: 0 as const };
    const p = tokenDropoutWeightsPadded([3, 5], [10, 20], 6, o);
    expect(p.length).toBe(2 * 2 * 6);
    const w1 = tokenDropoutWeights(5, { ...o, pairKey: 20 });
    expect(Array.from(p.subarray((1 * 2 + 1) * 6, (1 * 2 + 1) * 6 + 5))).toEqual(
      Array.from(w1.subarray(5, 10)),
    );
    expect(p[(0 * 2 + 0) * 6 + 3]).toBe(0);
    expect(() => tokenDropoutWeightsPadded([7], [0], 6, o)).toThrow(/row 0 length/);
  });

  it("error margins: ρ = 0 gives the unperturbed margins; constant tokens give s = 0", () => {
    const tokens = {
      policyChosen: [-1, -2, -3],
      policyRejected: [-2, -2],
      referenceChosen: [-1.5, -2, -2],
      referenceRejected: [-1, -2],
    };
    const base = { k: 3, seed: 1, pairKey: 0 };
    const pol = tokenDropoutErrorMargins(tokens, { ...base, rho: 0, source: "policy" });
    expect(Array.from(pol)).toEqual([0, 0, 0]); // −2 − (−2)
    const imp = tokenDropoutErrorMargins(tokens, { ...base, rho: 0, source: "implicit", beta: 0.1 });
    const m = implicitMargins(
      makeBatch({
        policyChosen: [-6],
        policyRejected: [-4],
        referenceChosen: [-5.5],
        referenceRejected: [-3],
      }),
      DEFAULT_STABILITY_CONFIG,
    );
    for (const v of imp) expect(v).toBeCloseTo(m[0]!, 14);
    const flat = tokenDropoutErrorMargins(
      { policyChosen: new Array(30).fill(-1), policyRejected: new Array(20).fill(-2) },
      { ...base, k: 4, rho: 0.5, source: "policy" },
    );
    expect(Array.from(flat)).toEqual([1, 1, 1, 1]);
    expect(() =>
      tokenDropoutErrorMargins(
        { policyChosen: [-1], policyRejected: [-1] },
        { ...base, rho: 0.1, source: "implicit" },
      ),
    ).toThrow(/reference per-token log-probs/);
  });
});

describe("policy dropout and history", () => {
  it("forward passes per pair", () => {
    expect(forwardPassesPerPair({ kind: "token-dropout", k: 4, rho: 0.1, seed: 0 })).toBe(1);
    expect(forwardPassesPerPair({ kind: "policy-dropout", k: 4, seed: 0 })).toBe(4);
    expect(forwardPassesPerPair({ kind: "history", k: 4 })).toBe(1);
    expect(forwardPassesPerPair(null)).toBe(1);
  });

  it("marginsFromPasses lays out n × K error margins", () => {
    const passes = [0, 1, 2].map((j) =>
      makeBatch({ policyChosen: [-1 - j, -2], policyRejected: [-1, -1 + j] }),
    );
    const p = marginsFromPasses(passes, DEFAULT_STABILITY_CONFIG);
    expect(Array.from(p)).toEqual([0, -1, -2, -1, -2, -3]);
  });

  it("MarginHistory keeps the newest K and round-trips through JSON", () => {
    const h = new MarginHistory(3);
    for (const v of [1, 2, 3, 4]) h.record(5, v);
    expect(h.get(5)).toEqual([2, 3, 4]);
    const { mu, sd } = h.recordAndSummarise([5, 6], [5, -1]);
    expect(mu[0]).toBe(4);
    expect(sd[0]).toBeCloseTo(Math.sqrt(2 / 3), 14);
    expect(mu[1]).toBe(-1);
    expect(sd[1]).toBe(0);
    const back = MarginHistory.fromJSON(JSON.parse(JSON.stringify(h)));
    expect(back.get(5)).toEqual([3, 4, 5]);
    expect(() => h.record(1, Number.NaN)).toThrow(/pair 1/);
  });

  it("scorePool accepts moments from the history", () => {
    const b = makeBatch({ policyChosen: [-1, -1], policyRejected: [-1, -1] });
    // raw scale for the closed form S = min(2, 8) − ln(0.45 + 0.05) = 2 + ln 2 (the default pool
    // scale standardises over the pool; its formula is tested in pool-scale.test.ts)
    const r = scorePool(b, resolveStabilityConfig({ scale: "raw" }), {
      mu: Float64Array.of(-2, 0),
      sd: Float64Array.of(0.45, 0),
    });
    expect(r.score[0]).toBeCloseTo(2 + Math.log(2), 14);
    expect(Array.from(r.mu)).toEqual([-2, 0]);
    expect(Array.from(r.sd)).toEqual([0.45, 0]);
    expect(() =>
      scorePool(b, resolveStabilityConfig(), { mu: Float64Array.of(1), sd: Float64Array.of(1) }),
    ).toThrow(/moments/);
  });
});

describe("Rng", () => {
  it("is deterministic, serialisable and roughly uniform", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    for (let i = 0; i < 10; i++) expect(a.nextU32()).toBe(b.nextU32());
    const c = Rng.fromState(JSON.parse(JSON.stringify(a.getState())));
    expect(c.next()).toBe(a.next());
    // mean of 100 000 U(0,1): std 0.0009; tolerance 0.005. Gumbel mean = Euler γ, std π/√6/√n ≈ 0.004; tol 0.02
    let s = 0;
    let g = 0;
    const r = new Rng(1);
    for (let i = 0; i < 100_000; i++) {
      const u = r.next();
      expect(u >= 0 && u < 1).toBe(true);
      s += u;
      g += r.gumbel();
    }
    expect(Math.abs(s / 100_000 - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(g / 100_000 - 0.5772156649)).toBeLessThan(0.02);
    expect(() => Rng.fromState({ s: [1, 2, 3] } as never)).toThrow(/four uint32/);
  });
});
