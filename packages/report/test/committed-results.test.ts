import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { convergenceEndpoints, type RunSeries, tuningTarget } from "../src/index.js";

/*
 * The committed verdict of the convergence benchmark v2 is reproducible from the committed raw
 * files: the reported arm's per-run results (`benchmarks/results/convergence-chains-v2-run/`) give
 * again, with today's `convergenceEndpoints`, the numbers in `reported-arm-endpoints.json` (computed
 * by the run's pinned commit) that docs/benchmarks.md and the README quote. The t-based endpoints
 * must agree to rounding; the bootstrap intervals are left out, because the bootstrap's generator
 * changed after the run (docs/decisions.md, 17).
 */
const RUN = join(__dirname, "..", "..", "..", "benchmarks", "results", "convergence-chains-v2-run");

const series = (arm: string, file: string): RunSeries =>
  (JSON.parse(readFileSync(join(RUN, arm, "results", file), "utf8")) as { series: RunSeries }).series;

describe("the committed v2 reported arm", () => {
  it("recomputes to the quoted AUC differences, Holm p-values, hardest-stratum differences, MDE and steps to target", () => {
    const quoted = JSON.parse(readFileSync(join(RUN, "reported-arm-endpoints.json"), "utf8"));
    // the baseline and the compared methods, as the run's own endpoints list them
    const METHODS: string[] = [quoted.baseline, ...quoted.methods];
    expect(METHODS).toHaveLength(10);
    const files = readdirSync(join(RUN, "reported", "results")).filter((f) => !f.startsWith("initial-"));
    expect(files).toHaveLength(50);
    const runs = METHODS.flatMap((m) => [1, 2, 3, 4, 5].map((s) => series("reported", `${m}-s${s}.json`)));
    const fixed = tuningTarget([series("tuning", "uniform-s100.json")]);
    expect(fixed.target).toBeCloseTo(quoted.target, 12);
    const got = convergenceEndpoints(runs, {
      target: fixed.target,
      methods: METHODS.slice(1),
      design: { candidates: quoted.candidates, batchSize: 8, tuningSeeds: [100] },
    });
    const close = (a: unknown, b: unknown, path: string): void => {
      if (typeof a === "number" && typeof b === "number") {
        expect(a, path).toBeCloseTo(b, 10);
        return;
      }
      if (a === null || b === null || typeof a !== "object" || typeof b !== "object") {
        expect(a, path).toEqual(b);
        return;
      }
      expect(Object.keys(a as object).sort(), path).toEqual(Object.keys(b as object).sort());
      for (const k of Object.keys(a as object))
        close((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
    };
    close(got.endpoints.auc, quoted.endpoints.auc, "auc");
    close(got.endpoints.hardest, quoted.endpoints.hardest, "hardest");
    close(got.endpoints.scoringShare, quoted.endpoints.scoringShare, "scoringShare");
    close(got.power, quoted.power, "power");
    close(got.perSeed, quoted.perSeed, "perSeed");
    close(got.uniformGain, quoted.uniformGain, "uniformGain");
    // the ratios' point estimates and censoring do not depend on the bootstrap
    for (const m of METHODS.slice(1)) {
      for (const k of ["stepsRatio", "wallclockRatio"] as const) {
        const { lo: _l, hi: _h, ...g } = got.endpoints[k][m]!;
        const { lo: _ql, hi: _qh, ...q } = quoted.endpoints[k][m];
        close(g, q, `${k}.${m}`);
      }
    }
    // the verdict as the docs state it
    expect(got.endpoints.auc.sage!.diff).toBeLessThan(0);
    expect(got.endpoints.auc.sage!.pHolm).toBeLessThan(0.05);
    expect(got.endpoints.stepsRatio.sage!.reason).toBe("censored");
  });
});
