import { describe, expect, it } from "vitest";
import { firstCrossing, ReportError, type RunSeries, summarizeRuns, validateRuns } from "../src/index.js";

const T1 = 12.706204736174694; // scipy t.ppf(0.975, 1)

describe("firstCrossing", () => {
  const pts = [
    { step: 0, wallMs: 0, accuracy: 0.1 },
    { step: 10, wallMs: 1000, accuracy: 0.3 },
    { step: 20, wallMs: 3000, accuracy: 0.5 },
    { step: 30, wallMs: 4000, accuracy: 0.45 },
  ];
  it("interpolates linearly in steps and wall-clock between the bracketing points", () => {
    // 0.4 is halfway from 0.3 (step 10, 1000 ms) to 0.5 (step 20, 3000 ms)
    const c = firstCrossing(pts, 0.4)!;
    expect(c.step).toBeCloseTo(15, 12);
    expect(c.wallMs).toBeCloseTo(2000, 9);
  });
  it("a point exactly at the target is the crossing; the first point at/above counts", () => {
    expect(firstCrossing(pts, 0.3)).toEqual({ step: 10, wallMs: 1000 });
    expect(firstCrossing(pts, 0.05)).toEqual({ step: 0, wallMs: 0 });
  });
  it("uses the FIRST crossing, and null when never reached", () => {
    expect(firstCrossing(pts, 0.45)!.step).toBeCloseTo(17.5, 12);
    expect(firstCrossing(pts, 0.6)).toBeNull();
  });
});

/** Hand-computable runs: target 0.4; uniform crosses at steps 80 and 100, sage at 25 and 40. */
function handRuns(): RunSeries[] {
  return [
    {
      method: "uniform",
      seed: 1,
      points: [
        { step: 0, wallMs: 0, accuracy: 0, byStratum: [0, 0] },
        { step: 100, wallMs: 1000, accuracy: 0.5, byStratum: [0.7, 0.3] }, // 0.4 at step 80, 800 ms
      ],
    },
    {
      method: "uniform",
      seed: 2,
      points: [
        { step: 0, wallMs: 0, accuracy: 0, byStratum: [0, 0] },
        { step: 100, wallMs: 1000, accuracy: 0.4, byStratum: [0.5, 0.3] }, // exactly at step 100
        { step: 200, wallMs: 2000, accuracy: 0.6, byStratum: [0.8, 0.4] },
      ],
    },
    {
      method: "sage",
      seed: 1,
      points: [
        { step: 0, wallMs: 0, accuracy: 0, byStratum: [0, 0], frontier: 0, snr: 2, scoringMs: 0 },
        { step: 50, wallMs: 1000, accuracy: 0.8, byStratum: [0.9, 0.7], frontier: 1, snr: 4, scoringMs: 400 }, // 25 steps, 500 ms
      ],
    },
    {
      method: "sage",
      seed: 2,
      points: [
        { step: 0, wallMs: 0, accuracy: 0, byStratum: [0, 0], frontier: 0, scoringMs: 0 },
        { step: 50, wallMs: 1000, accuracy: 0.5, byStratum: [0.6, 0.4], frontier: 1, snr: 5, scoringMs: 400 }, // 40 steps, 800 ms
      ],
    },
  ];
}

describe("summarizeRuns", () => {
  const s = summarizeRuns(handRuns(), { target: 0.4, baseline: "uniform" });
  const uni = s.methods.find((m) => m.method === "uniform")!;
  const sage = s.methods.find((m) => m.method === "sage")!;

  it("keeps the order of first appearance and the options", () => {
    expect(s.methods.map((m) => m.method)).toEqual(["uniform", "sage"]);
    expect(s).toMatchObject({
      target: 0.4,
      baseline: "uniform",
      baselineFound: true,
      subject: "sage",
      strata: 2,
    });
  });

  it("final pass@1 and hardest stratum: mean ± t(1)·s/√2 over the two seeds", () => {
    expect(uni.finalAccuracy.mean).toBeCloseTo(0.55, 14);
    // s = |0.5 − 0.6|/√2, so half-width = t · 0.05
    expect(uni.finalAccuracy.hi! - uni.finalAccuracy.mean).toBeCloseTo(T1 * 0.05, 9);
    expect(uni.finalHardest!.mean).toBeCloseTo(0.35, 14);
    expect(sage.finalHardest!.mean).toBeCloseTo(0.55, 14);
    expect(uni.perSeed.finalAccuracy).toEqual([0.5, 0.6]);
  });

  it("steps and wall-clock to target: interpolated per seed, then averaged", () => {
    expect(uni.perSeed.stepsToTarget.map((x) => x!)).toEqual([80, 100].map((x) => expect.closeTo(x, 9)));
    expect(sage.perSeed.stepsToTarget[0]).toBeCloseTo(25, 9);
    expect(sage.perSeed.stepsToTarget[1]).toBeCloseTo(40, 9);
    expect(uni.stepsToTarget!.mean).toBeCloseTo(90, 9);
    expect(uni.stepsToTarget!.lo!).toBeCloseTo(90 - T1 * 10, 6); // s = 10√2, s/√2 = 10
    expect(sage.stepsToTarget!.mean).toBeCloseTo(32.5, 9);
    expect(uni.wallMsToTarget!.mean).toBeCloseTo(900, 6);
    expect(sage.wallMsToTarget!.mean).toBeCloseTo(650, 6);
    expect(uni.reachedTarget).toBe(2);
  });

  it("ratio vs uniform is mean ÷ mean, with a bootstrap interval inside the resample range", () => {
    expect(sage.stepsRatio!.value).toBeCloseTo(32.5 / 90, 12);
    expect(sage.wallRatio!.value).toBeCloseTo(650 / 900, 12);
    expect(uni.stepsRatio!.value).toBeCloseTo(1, 12);
    expect(sage.stepsRatio!.lo!).toBeGreaterThanOrEqual(25 / 100 - 1e-12);
    expect(sage.stepsRatio!.hi!).toBeLessThanOrEqual(40 / 80 + 1e-12);
  });

  it("SNR (per-run mean, then over seeds), scoring share, frontier", () => {
    expect(sage.snr!.mean).toBeCloseTo((3 + 5) / 2, 12);
    expect(uni.snr).toBeNull();
    expect(sage.scoringShare!.mean).toBeCloseTo(0.4, 12);
    expect(uni.scoringShare).toBeNull();
    expect(sage.finalFrontier!.mean).toBe(1);
    expect(uni.finalFrontier).toBeNull();
  });

  it("no ratio when a baseline seed never reaches the target", () => {
    const s2 = summarizeRuns(handRuns(), { target: 0.55 });
    const u2 = s2.methods[0]!;
    expect(u2.reachedTarget).toBe(1);
    expect(u2.perSeed.stepsToTarget[0]).toBeNull();
    expect(s2.methods[1]!.stepsRatio).toBeNull();
  });

  it("no ratio and baselineFound false without a baseline run", () => {
    const s3 = summarizeRuns(handRuns(), { target: 0.4, baseline: "random" });
    expect(s3.baselineFound).toBe(false);
    expect(s3.methods.every((m) => m.stepsRatio === null && m.wallRatio === null)).toBe(true);
  });

  it("is deterministic", () => {
    expect(summarizeRuns(handRuns(), { target: 0.4 })).toEqual(summarizeRuns(handRuns(), { target: 0.4 }));
  });
});

describe("validation", () => {
  const bad = (mutate: (r: RunSeries[]) => void): (() => void) => {
    const runs = handRuns();
    mutate(runs);
    return () => validateRuns(runs);
  };
  const expectError = (fn: () => void, pattern: RegExp) => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(ReportError);
      expect((e as ReportError).code).toBe("INPUT_INVALID");
      expect((e as Error).message).toMatch(pattern);
      return;
    }
    throw new Error("expected a ReportError");
  };

  it("accepts good runs and returns the number of strata", () => {
    expect(validateRuns(handRuns())).toBe(2);
  });
  it("rejects bad input with the field and the received value", () => {
    expectError(() => validateRuns([]), /runs: expected a non-empty array/);
    expectError(
      bad((r) => {
        r[1]!.seed = 1;
      }),
      /unique \(method, seed\).*"uniform"/,
    );
    expectError(
      bad((r) => {
        r[0]!.points[1]!.step = 0;
      }),
      /points\[1\].*step: expected a step > the previous point's 0, received 0/,
    );
    expectError(
      bad((r) => {
        r[0]!.points[1]!.accuracy = 1.2;
      }),
      /accuracy: expected a number in \[0, 1\], received 1.2/,
    );
    expectError(
      bad((r) => {
        r[0]!.points[1]!.wallMs = Number.NaN;
      }),
      /wallMs: expected a finite number ≥ 0, received NaN/,
    );
    expectError(
      bad((r) => {
        r[2]!.points[1]!.byStratum = [0.1, 0.2, 0.3];
      }),
      /byStratum: expected 2 strata/,
    );
    expectError(
      bad((r) => {
        r[2]!.points[1]!.scoringMs = 2000;
      }),
      /scoringMs: expected a number in \[0, wallMs = 1000\], received 2000/,
    );
  });
  it("rejects a target outside (0, 1]", () => {
    expect(() => summarizeRuns(handRuns(), { target: 0 })).toThrow(/target: expected a number in \(0, 1\]/);
  });
});
