import { describe, expect, it } from "vitest";
import { greedySummary, pairedDifference, ReportError } from "../src/index.js";

const run = (arm: string, method: string, seed: number, passAt1: number, hard = passAt1 / 2) => ({
  arm,
  method,
  seed,
  passAt1,
  byLevel: { "1": Math.min(1, passAt1 + 0.1), "5": hard },
});

describe("greedySummary", () => {
  it("per arm and method: mean, per level, change from the start and the paired difference to uniform", () => {
    const runs = [
      run("reported", "uniform", 1, 0.9),
      run("reported", "uniform", 2, 0.8),
      run("reported", "uniform", 3, 0.7),
      run("reported", "sage", 3, 0.75),
      run("reported", "sage", 1, 0.95),
      run("reported", "sage", 2, 0.8),
      run("tuning", "uniform", 100, 0.6),
      run("noise", "sage", 1, 0.5),
    ];
    const s = greedySummary(runs, (arm) => (arm === "tuning" ? 0.5 : 0.85));
    expect(s.map((x) => `${x.arm}/${x.method}`)).toEqual([
      "reported/uniform",
      "reported/sage",
      "tuning/uniform",
      "noise/sage",
    ]);
    const sage = s[1]!;
    expect(sage.seeds).toEqual([1, 2, 3]);
    expect(sage.mean).toBeCloseTo((0.95 + 0.8 + 0.75) / 3, 12);
    expect(sage.change).toBeCloseTo(sage.mean - 0.85, 12);
    expect(sage.byLevel["5"]).toBeCloseTo((0.95 + 0.8 + 0.75) / 6, 12);
    expect(sage.byLevel["1"]).toBeCloseTo((1 + 0.9 + 0.85) / 3, 12);
    // paired by seed, whatever the input order: differences +0.05, 0, +0.05
    expect(sage.vsBaseline).toEqual(pairedDifference([0.95, 0.8, 0.75], [0.9, 0.8, 0.7]));
    expect(sage.vsBaseline!.diff).toBeCloseTo(0.1 / 3, 12);
    expect(s[0]!.vsBaseline).toBeNull();
    expect(s[2]!.change).toBeCloseTo(0.1, 12);
    // the noise arm has no uniform run: nothing to pair with
    expect(s[3]!.vsBaseline).toBeNull();
  });

  it("pairs over the seeds both have", () => {
    const s = greedySummary(
      [
        run("reported", "uniform", 1, 0.5),
        run("reported", "uniform", 2, 0.7),
        run("reported", "sage", 2, 0.9),
      ],
      () => 0.5,
    );
    expect(s[1]!.vsBaseline).toMatchObject({ diff: expect.closeTo(0.2, 12), n: 1, lo: null, hi: null });
  });

  it("refuses a seed twice in one method and a pass@1 outside [0, 1]", () => {
    expect(() =>
      greedySummary([run("reported", "sage", 1, 0.5), run("reported", "sage", 1, 0.6)], () => 0),
    ).toThrow(/greedy runs of reported\/sage: expected one run per seed/);
    expect(() => greedySummary([run("reported", "sage", 1, 1.5)], () => 0)).toThrow(ReportError);
  });
});
