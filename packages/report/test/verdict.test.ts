import { describe, expect, it } from "vitest";
import { type RunSeries, summarizeRuns, verdict, verdictSentences } from "../src/index.js";
import { syntheticRuns } from "./synthetic.js";

/** Runs with given final accuracies per seed (two points: 0 at step 0, `acc` at step 100). */
function finals(spec: Record<string, number[]>): RunSeries[] {
  return Object.entries(spec).flatMap(([method, accs]) =>
    accs.map((acc, i) => ({
      method,
      seed: i + 1,
      points: [
        { step: 0, wallMs: 0, accuracy: 0 },
        { step: 100, wallMs: 1000, accuracy: acc },
      ],
    })),
  );
}

describe("verdict", () => {
  it("claims no interval on one seed per method, and says the level with two", () => {
    const one = verdict(summarizeRuns(finals({ uniform: [0.5], sage: [0.6] }), { target: 0.4 }));
    expect(one).toContain("(1 seed per method, no intervals)");
    expect(one).not.toContain("95% intervals");
    const two = verdict(summarizeRuns(finals({ uniform: [0.5, 0.4], sage: [0.6, 0.5] }), { target: 0.3 }));
    expect(two).toContain("(2 seeds per method, 95% intervals)");
  });

  it("says who sage beat and by how much, with steps and wall-clock ratios (synthetic benchmark)", () => {
    const s = summarizeRuns(syntheticRuns(), { target: 0.45 });
    const text = verdict(s);
    const by = (m: string) =>
      (
        (s.methods.find((x) => x.method === "sage")!.finalAccuracy.mean -
          s.methods.find((x) => x.method === m)!.finalAccuracy.mean) *
        100
      ).toFixed(1);
    expect(text).toContain(
      `sage beat uniform by ${by("uniform")} points and hard-mining by ${by("hard-mining")} points`,
    );
    const sage = s.methods.find((m) => m.method === "sage")!;
    expect(text).toContain(`(${sage.stepsRatio!.value.toFixed(2)}× [`);
    expect(text).toContain("of wall-clock, scoring included");
    expect(text).toMatch(/Scoring passes took 37\.5% of sage's wall-clock\./);
    expect(text).toMatch(/gradient signal-to-noise of sage's batches averaged/);
  });

  it("says 'did not beat' when sage is clearly behind, and 'did not clearly beat' when the interval includes zero", () => {
    const s = summarizeRuns(
      finals({ uniform: [0.6, 0.61, 0.62], random: [0.5, 0.55, 0.6], sage: [0.5, 0.51, 0.52] }),
      {
        target: 0.3,
      },
    );
    const first = verdictSentences(s)[0]!;
    expect(first).toContain("did not beat uniform (10.0 points lower)");
    expect(first).toContain("did not clearly beat random (−4.0 points, interval includes zero)");
    expect(first).not.toMatch(/sage beat/);
  });

  it("never calls a win from one seed", () => {
    const s = summarizeRuns(finals({ uniform: [0.4], sage: [0.9] }), { target: 0.3 });
    const text = verdict(s);
    expect(text).toContain("did not clearly beat uniform (+50.0 points, too few seeds to tell)");
    expect(text).toContain("too few seeds for an interval");
  });

  it("explains a missing ratio and a missing subject", () => {
    const s = summarizeRuns(finals({ uniform: [0.2, 0.25], sage: [0.5, 0.55] }), { target: 0.3 });
    expect(verdict(s)).toContain(
      "No steps ratio to uniform: it needs every seed of both methods to reach 30.0% (sage: 2 of 2, uniform: 0 of 2)",
    );
    const none = summarizeRuns(finals({ uniform: [0.2, 0.25] }), { target: 0.3 });
    expect(verdict(none)).toBe("No run of method sage was given, so there is no verdict; methods: uniform.");
  });
});
