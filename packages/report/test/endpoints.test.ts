import { describe, expect, it } from "vitest";
import {
  areaUnderCurve,
  convergenceEndpoints,
  crossingOf,
  holmAdjust,
  minimumDetectableDifference,
  pairedBootstrapRatio,
  pairedDifference,
  ReportError,
  type RunSeries,
  targetRatio,
  tuningTarget,
} from "../src/index.js";

// Reference values: Student t with df = 2 has closed forms, computed in python3 (stdlib only):
// CDF F(t) = 1/2 + t / (2 √(2 + t²)), so the two-sided p = 1 − |t| / √(2 + t²), and the quantile
// t_p = (2p − 1) / √(2p(1 − p)). Our t functions are numerical (bisection on a continued
// fraction, ~1e-12), so 1e-9 is a safe tolerance that still catches a wrong df or tail (> 1e-2).
const T975_2 = 4.302652729749462;
const T80_2 = 1.0606601717798214;
const TOL = 9; // toBeCloseTo digits: |error| < 5e-10

describe("areaUnderCurve", () => {
  it("is the trapezoidal area of a known piecewise-linear curve divided by the step span", () => {
    // (10·0.4/2 + 20·0.8/2 + 10·1.0/2) / 40 = (2 + 8 + 5) / 40
    const pts = [
      { step: 0, wallMs: 0, accuracy: 0.1 },
      { step: 10, wallMs: 1, accuracy: 0.3 },
      { step: 30, wallMs: 2, accuracy: 0.5 },
      { step: 40, wallMs: 3, accuracy: 0.5 },
    ];
    expect(areaUnderCurve(pts)).toBeCloseTo(0.375, 12);
    // a flat curve's AUC is its height, whatever the grid
    expect(areaUnderCurve(pts.map((p) => ({ ...p, accuracy: 0.42 })))).toBeCloseTo(0.42, 12);
  });
  it("needs two points and a positive span", () => {
    expect(() => areaUnderCurve([{ step: 0, wallMs: 0, accuracy: 0.1 }])).toThrow(
      /at least 2 evaluation points/,
    );
  });
});

describe("pairedDifference", () => {
  it("matches the hand-computed paired t analysis (df = 2)", () => {
    const r = pairedDifference([0.5, 0.6, 0.7], [0.4, 0.45, 0.5]);
    // d = [0.1, 0.15, 0.2]: mean 0.15, sd 0.05, t = 0.15 / (0.05/√3) = 3√3
    expect(r.diff).toBeCloseTo(0.15, 12);
    expect(r.sd).toBeCloseTo(0.05, 12);
    expect(r.n).toBe(3);
    expect(r.p!).toBeCloseTo(0.03509871864598468, TOL);
    const half = (T975_2 * 0.05) / Math.sqrt(3);
    expect(r.lo!).toBeCloseTo(0.15 - half, TOL);
    expect(r.hi!).toBeCloseTo(0.15 + half, TOL);
  });
  it("zero-variance differences: the interval is the point, p = 1 for no difference and 0 otherwise", () => {
    expect(pairedDifference([0.3, 0.4], [0.3, 0.4])).toEqual({ diff: 0, lo: 0, hi: 0, sd: 0, n: 2, p: 1 });
    const shifted = pairedDifference([0.5, 0.5, 0.5], [0.25, 0.25, 0.25]);
    expect(shifted).toMatchObject({ diff: 0.25, lo: 0.25, hi: 0.25, sd: 0, p: 0 });
  });
  it("one pair: no interval, no p; unequal lengths: typed error", () => {
    expect(pairedDifference([0.5], [0.25])).toEqual({ diff: 0.25, lo: null, hi: null, sd: 0, n: 1, p: null });
    expect(() => pairedDifference([0.5, 0.6], [0.25])).toThrow(ReportError);
  });
});

describe("holmAdjust", () => {
  it("matches Holm's step-down procedure on known p-values, in input order", () => {
    // sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, max(0.06, 0.04·1) = 0.06
    const adj = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((v, i) => {
      expect(adj[i]!).toBeCloseTo(v, 12);
    });
  });
  it("caps at 1, keeps monotonicity, and leaves a single p unchanged", () => {
    expect(holmAdjust([0.5, 0.6])).toEqual([1, 1]);
    expect(holmAdjust([0.07])).toEqual([0.07]);
    expect(holmAdjust([])).toEqual([]);
    expect(() => holmAdjust([1.2])).toThrow(/in \[0, 1\]/);
  });
});

describe("minimumDetectableDifference", () => {
  it("is (t_{0.975,n−1} + t_{0.8,n−1}) · sd / √n (hand value for n = 3)", () => {
    expect(minimumDetectableDifference(0.05, 3)!).toBeCloseTo(((T975_2 + T80_2) * 0.05) / Math.sqrt(3), TOL);
    expect(minimumDetectableDifference(0.05, 3)!).toBeCloseTo(0.15482550737230624, TOL);
  });
  it("is 0 for zero spread, null for one seed, and rejects bad input", () => {
    expect(minimumDetectableDifference(0, 5)).toBe(0);
    expect(minimumDetectableDifference(0.1, 1)).toBeNull();
    expect(() => minimumDetectableDifference(-1, 5)).toThrow(/MDE sd/);
    expect(() => minimumDetectableDifference(0.1, 5, { power: 1 })).toThrow(/MDE power/);
  });
});

describe("pairedBootstrapRatio and targetRatio", () => {
  it("is deterministic in its seed and degenerate when every seed has the same ratio", () => {
    const a = pairedBootstrapRatio([2, 4, 6], [1, 2, 3], { seed: 9 });
    expect(a).toEqual({ value: 2, lo: 2, hi: 2 });
    const x = pairedBootstrapRatio([3, 5, 4, 9], [4, 4, 6, 7], { seed: 9 });
    expect(pairedBootstrapRatio([3, 5, 4, 9], [4, 4, 6, 7], { seed: 9 })).toEqual(x);
    expect(x.value).toBeCloseTo(21 / 21, 12);
    // every resample ratio is a ratio of sums over drawn seeds: within [min, max] of per-seed ratios
    expect(x.lo!).toBeGreaterThanOrEqual(0.66);
    expect(x.hi!).toBeLessThanOrEqual(1.29);
    expect(x.lo!).toBeLessThan(x.hi!);
  });
  it("is censored (null with counts) when a seed never reaches the target", () => {
    expect(targetRatio([10, null, 20], [20, 30, 40])).toEqual({
      ratio: null,
      lo: null,
      hi: null,
      n: 3,
      reached: 2,
      baselineReached: 3,
      reason: "censored",
    });
    expect(targetRatio([10, 5], [0, 30]).reason).toBe("baseline-at-start");
    expect(targetRatio([10, 20], [20, 40])).toMatchObject({ ratio: 0.5, lo: 0.5, hi: 0.5, reason: null });
  });
});

describe("crossingOf", () => {
  const pts = [
    { step: 0, wallMs: 0, accuracy: 0.2 },
    { step: 10, wallMs: 1000, accuracy: 0.3 },
    { step: 20, wallMs: 2000, accuracy: 0.4 },
  ];
  it("interpolates linearly by default; first-evaluated takes the first point at or above", () => {
    expect(crossingOf(pts, 0.35)!.step).toBeCloseTo(15, 12);
    expect(crossingOf(pts, 0.35)!.wallMs).toBeCloseTo(1500, 9);
    expect(crossingOf(pts, 0.35, "first-evaluated")).toEqual({ step: 20, wallMs: 2000 });
    expect(crossingOf(pts, 0.5)).toBeNull();
  });
});

/**
 * Hand-computable runs, steps 0/10/20: AUCs uniform 0.3, 0.275, 0.35; sage 0.375, 0.3375, 0.4
 * (paired differences 0.075, 0.0625, 0.05: mean 0.0625, sd 0.0125); hard-mining = uniform.
 */
function handRuns(): RunSeries[] {
  const mk = (
    method: string,
    seed: number,
    acc: number[],
    ms: number,
    extra: { snr?: number; scoring?: number } = {},
  ): RunSeries => ({
    method,
    seed,
    points: acc.map((a, k) => ({
      step: 10 * k,
      wallMs: 10 * k * ms,
      accuracy: a,
      byStratum: [Math.min(1, a + 0.1), Math.max(0, a - 0.1)],
      ...(extra.snr !== undefined && k > 0 ? { snr: extra.snr } : {}),
      ...(extra.scoring !== undefined ? { scoringMs: 10 * k * extra.scoring } : {}),
    })),
  });
  return [
    mk("uniform", 1, [0.2, 0.3, 0.4], 100, { snr: 1, scoring: 0 }),
    mk("uniform", 2, [0.2, 0.25, 0.4], 100, { snr: 1, scoring: 0 }),
    mk("uniform", 3, [0.2, 0.35, 0.5], 100, { snr: 1, scoring: 0 }),
    mk("sage", 1, [0.2, 0.4, 0.5], 150, { snr: 2, scoring: 50 }),
    mk("sage", 2, [0.2, 0.35, 0.45], 150, { snr: 2, scoring: 50 }),
    mk("sage", 3, [0.2, 0.45, 0.5], 150, { snr: 2, scoring: 50 }),
    mk("hard-mining", 1, [0.2, 0.3, 0.4], 100),
    mk("hard-mining", 2, [0.2, 0.25, 0.4], 100),
    mk("hard-mining", 3, [0.2, 0.35, 0.5], 100),
  ];
}

const design = { candidates: 2400, batchSize: 8, tuningSeeds: [0, 100] };

describe("convergenceEndpoints", () => {
  const out = convergenceEndpoints(handRuns(), {
    baseline: "uniform",
    target: 0.35,
    methods: ["sage", "hard-mining"],
    design,
  });

  it("has the pre-registered JSON shape and survives a JSON round trip unchanged", () => {
    expect(out.suite).toBe("convergence");
    expect(out).toMatchObject({
      candidates: 2400,
      batchSize: 8,
      tuningSeeds: [0, 100],
      steps: 20,
      seeds: [1, 2, 3],
    });
    expect(JSON.parse(JSON.stringify(out))).toEqual(out);
    expect(out.noiseArm).toBeNull();
  });

  it("uniformGain is the baseline's mean final − start in pass@1 points", () => {
    expect(out.uniformGain).toBeCloseTo((100 * (0.2 + 0.2 + 0.3)) / 3, 9);
  });

  it("AUC: paired difference, t interval and Holm over the compared methods (hand values)", () => {
    const sage = out.endpoints.auc.sage!;
    expect(sage.diff).toBeCloseTo(0.0625, 12);
    const half = (T975_2 * 0.0125) / Math.sqrt(3);
    expect(sage.lo!).toBeCloseTo(0.0625 - half, TOL);
    expect(sage.hi!).toBeCloseTo(0.0625 + half, TOL);
    // t = 5√3, p = 1 − t/√(2 + t²); Holm with m = 2: 2p for the smaller, max(2p, 1·1) = 1 for hard-mining
    expect(sage.p!).toBeCloseTo(0.013072457560346473, TOL);
    expect(sage.pHolm!).toBeCloseTo(0.026144915120692946, TOL);
    expect(out.endpoints.auc["hard-mining"]).toEqual({ diff: 0, lo: 0, hi: 0, p: 1, pHolm: 1 });
    expect(out.perSeed.uniform!.auc.map((v) => Number(v.toFixed(12)))).toEqual([0.3, 0.275, 0.35]);
  });

  it("steps and wall-clock to target: interpolated crossings, ratio of means, paired bootstrap", () => {
    // uniform crosses 0.35 at 15, 16⅔, 10; sage at 7.5, 10, 6; wall = step × ms/step (100 vs 150)
    expect(out.perSeed.sage!.stepsToTarget.map((v) => Number(v!.toFixed(9)))).toEqual([7.5, 10, 6]);
    const steps = out.endpoints.stepsRatio.sage!;
    expect(steps.ratio!).toBeCloseTo(23.5 / (15 + 50 / 3 + 10), 12);
    expect(steps.lo!).toBeLessThanOrEqual(steps.ratio!);
    expect(steps.hi!).toBeGreaterThanOrEqual(steps.ratio!);
    expect(out.endpoints.wallclockRatio.sage!.ratio!).toBeCloseTo((1.5 * 23.5) / (15 + 50 / 3 + 10), 12);
    expect(out.endpoints.stepsRatio["hard-mining"]).toMatchObject({ ratio: 1, lo: 1, hi: 1, reason: null });
  });

  it("a target some seed never reaches gives a null ratio with the counts", () => {
    const r = convergenceEndpoints(handRuns(), { target: 0.45, methods: ["sage", "hard-mining"], design });
    // uniform seed 1 peaks at 0.4, seed 2 at 0.4; sage seed 2 at 0.45 (reached)
    expect(r.endpoints.stepsRatio.sage).toMatchObject({
      ratio: null,
      reached: 3,
      baselineReached: 1,
      reason: "censored",
    });
    expect(r.endpoints.wallclockRatio.sage!.ratio).toBeNull();
  });

  it("the first-evaluated crossing rule reads the evaluation grid", () => {
    const r = convergenceEndpoints(handRuns(), {
      target: 0.35,
      methods: ["sage"],
      design,
      crossing: "first-evaluated",
    });
    expect(r.crossing).toBe("first-evaluated");
    expect(r.endpoints.stepsRatio.sage!.ratio!).toBeCloseTo(30 / 50, 12);
  });

  it("secondary endpoints: hardest stratum, gradient SNR ratio, scoring share", () => {
    // final hardest = final − 0.1: uniform 0.3, 0.3, 0.4; sage 0.4, 0.35, 0.4
    const h = out.endpoints.hardest.sage!;
    expect(h.diff).toBeCloseTo(0.05, 12);
    expect(h.mean).toBeCloseTo(1.15 / 3, 12);
    expect(out.endpoints.snr.sage).toEqual({ mean: 2, baselineMean: 1, ratio: 2, lo: 2, hi: 2 });
    expect(out.endpoints.snr["hard-mining"]).toBeNull();
    expect(out.endpoints.scoringShare.sage!.mean).toBeCloseTo(1 / 3, 12);
    expect(out.endpoints.scoringShare.uniform!.mean).toBe(0);
    expect(out.endpoints.scoringShare["hard-mining"]).toBeNull();
  });

  it("power: MDE of the AUC difference from the pooled SD of paired differences (hand value)", () => {
    const sd = 0.0125 / Math.sqrt(2); // √((0.0125² + 0²) / 2)
    expect(out.power.sdPooled).toBeCloseTo(sd, 12);
    expect(out.power.mdeAuc!).toBeCloseTo(((T975_2 + T80_2) * sd) / Math.sqrt(3), TOL);
    expect(out.power.byMethod["hard-mining"]).toBe(0);
    expect(out.power).toMatchObject({ n: 3, alpha: 0.05, power: 0.8 });
  });

  it("computes the label-noise arm as its own family with its own target", () => {
    const r = convergenceEndpoints(handRuns(), {
      target: 0.35,
      methods: ["sage", "hard-mining"],
      design,
      noiseArm: { runs: handRuns(), target: 0.3, methods: ["sage"], noise: { flipShare: 0.2, seed: 5 } },
    });
    expect(r.noiseArm!.noise).toEqual({ flipShare: 0.2, seed: 5 });
    expect(r.noiseArm!.target).toBe(0.3);
    // one method: Holm leaves its p unchanged
    expect(r.noiseArm!.endpoints.auc.sage!.pHolm).toBe(r.noiseArm!.endpoints.auc.sage!.p);
    expect(Object.keys(r.noiseArm!.endpoints.auc)).toEqual(["sage"]);
  });

  it("rejects a method missing a seed, a tuning seed among the reported ones, unequal spans and one seed", () => {
    const missing = handRuns().filter((r) => !(r.method === "sage" && r.seed === 3));
    const call = () => convergenceEndpoints(missing, { target: 0.35, methods: ["sage"], design });
    expect(call).toThrow(ReportError);
    expect(call).toThrow(/seeds of "sage": expected the baseline's seeds \[1,2,3\] \(missing \[3\]/);
    expect(() =>
      convergenceEndpoints(handRuns(), {
        target: 0.35,
        methods: ["sage"],
        design: { ...design, tuningSeeds: [2] },
      }),
    ).toThrow(/disjoint from the tuning seeds/);
    const short = handRuns().map((r) =>
      r.method === "sage" && r.seed === 1 ? { ...r, points: r.points.slice(0, 2) } : r,
    );
    expect(() => convergenceEndpoints(short, { target: 0.35, methods: ["sage"], design })).toThrow(
      /step span: expected \[0, 20\]/,
    );
    const one = handRuns().filter((r) => r.seed === 1);
    expect(() => convergenceEndpoints(one, { target: 0.35, methods: ["sage"], design })).toThrow(
      /at least 2 seeds/,
    );
    expect(() => convergenceEndpoints(handRuns(), { target: 0.35, methods: ["uniform"], design })).toThrow(
      /other than the baseline/,
    );
    expect(() => convergenceEndpoints(handRuns(), { target: 0.35, methods: ["dpo-x"], design })).toThrow(
      /runs of "dpo-x"/,
    );
    expect(() => convergenceEndpoints(handRuns(), { target: 0, methods: ["sage"], design })).toThrow(
      /target/,
    );
  });
});

describe("tuningTarget", () => {
  it("is start + fraction × the baseline's mean gain over the tuning runs", () => {
    const tuning = handRuns().map((r) => ({ ...r, seed: r.seed + 100 }));
    const t = tuningTarget(tuning, { fraction: 0.9 });
    // start 0.2, final mean (0.4 + 0.4 + 0.5)/3
    expect(t.start).toBeCloseTo(0.2, 12);
    expect(t.final).toBeCloseTo(1.3 / 3, 12);
    expect(t.target).toBeCloseTo(0.2 + 0.9 * (1.3 / 3 - 0.2), 12);
    expect(t.seeds).toEqual([101, 102, 103]);
    expect(() => tuningTarget(tuning, { baseline: "dpo" })).toThrow(/runs of the baseline "dpo"/);
  });
});
