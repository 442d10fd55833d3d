import { resolveCurriculumConfig } from "@sage/curriculum";
import { describe, expect, it } from "vitest";
import {
  ABLATION_VARIANTS,
  adapterSlug,
  CONVERGENCE_METHODS,
  CONVERGENCE_PLAN,
  convergenceSettings,
  convergenceTargets,
  runCli,
} from "../src/index.js";

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

describe("sage bench convergence: arguments", () => {
  it("defaults: all 8 methods, 3 reported seeds, a tuning seed apart, the benchmark plan", () => {
    const s = convergenceSettings({});
    expect(s.methods).toEqual([
      "uniform",
      "random",
      "hard-mining",
      "small-margin",
      "selective",
      "curriculum-only",
      "score-only",
      "sage",
    ]);
    expect(s.methods).toEqual([...CONVERGENCE_METHODS]);
    expect(s.seeds).toEqual([1, 2, 3]);
    expect(s.tuningSeeds).toEqual([100]);
    expect(s.plan.steps).toBe(CONVERGENCE_PLAN.steps);
    expect(s.quick).toBe(false);
  });

  it("takes lists and overrides", () => {
    const s = convergenceSettings({
      methods: "uniform, sage,hard-mining",
      seeds: "4,5,6,7",
      tuningSeeds: "9",
      steps: 12,
      evalEvery: 4,
      problems: 10,
      evalProblems: 5,
      samples: 3,
      target: 0.4,
      learningRate: 0.001,
    });
    expect(s.methods).toEqual(["uniform", "sage", "hard-mining"]);
    expect(s.seeds).toEqual([4, 5, 6, 7]);
    expect(s.tuningSeeds).toEqual([9]);
    expect(s.plan).toMatchObject({
      steps: 12,
      evalEvery: 4,
      pairProblemsPerLevel: 10,
      evalProblemsPerLevel: 5,
      samples: 3,
    });
    expect(s.plan.train.learningRate).toBe(0.001);
    expect(s.target).toBe(0.4);
    // --quick allows a single seed and defaults to one
    expect(convergenceSettings({ quick: true }).seeds).toEqual([1]);
  });

  it("rejects bad lists, clashing seeds, too few seeds, a bad target and eval-every > steps", () => {
    expect(() => convergenceSettings({ methods: "uniform,sage,best" })).toThrow(/unknown method "best"/);
    expect(() => convergenceSettings({ methods: "uniform,random" })).toThrow(
      /must include uniform .* and sage/,
    );
    expect(() => convergenceSettings({ methods: "uniform,sage,sage" })).toThrow(/must not repeat/);
    expect(() => convergenceSettings({ seeds: "1,2,x" })).toThrow(/--seeds must be a comma-separated list/);
    expect(() => convergenceSettings({ seeds: "1,1,2" })).toThrow(/--seeds must not repeat/);
    expect(() => convergenceSettings({ seeds: "1,2,3", tuningSeeds: "3" })).toThrow(
      /must be apart; both have 3/,
    );
    expect(() => convergenceSettings({ seeds: "1,2" })).toThrow(/at least 3 seeds; received 2/);
    expect(() => convergenceSettings({ target: 1.5 })).toThrow(/--target must be in \(0, 1\]/);
    expect(() => convergenceSettings({ steps: 4, evalEvery: 5 })).toThrow(
      /--eval-every \(5\) must be at most --steps \(4\)/,
    );
  });

  it("--ablations: uniform, sage and the spec's SAGE variants on the tuning seeds only, same plan", () => {
    const s = convergenceSettings({ ablations: true });
    expect(s.ablations).toBe(true);
    expect(s.methods).toEqual([...ABLATION_VARIANTS]);
    const labels = s.methods.map((m) => (typeof m === "string" ? m : m.label));
    expect(labels).toEqual([
      "uniform",
      "sage",
      "score-only",
      "sage:K1-a0",
      "sage:zmin0.25",
      "sage:zmin0.5",
      "sage:no-cap",
      "sage:implicit",
      "sage:R2",
      "sage:R20",
      "sage:raw",
      "sage:probe",
      "sage:probe4",
      "sage:probe4-strata2",
    ]);
    // every variant resolves to a valid selector config (field names of @sage/curriculum / @sage/stability)
    for (const v of ABLATION_VARIANTS) {
      expect(() =>
        resolveCurriculumConfig({ ...CONVERGENCE_PLAN.curriculum, ...(v.curriculum ?? {}) }),
      ).not.toThrow();
    }
    const noCap = ABLATION_VARIANTS.find((v) => v.label === "sage:no-cap");
    expect(noCap?.curriculum?.stability?.mCap).toBe(Number.POSITIVE_INFINITY);
    expect(s.tuningSeeds).toEqual([100]);
    expect(s.plan.steps).toBe(CONVERGENCE_PLAN.steps);
    expect(convergenceSettings({ ablations: true, tuningSeeds: "100,101" }).tuningSeeds).toEqual([100, 101]);
    expect(() => convergenceSettings({ ablations: true, seeds: "1,2,3" })).toThrow(
      /--ablations .* takes neither --methods nor --seeds/,
    );
    expect(() => convergenceSettings({ ablations: true, methods: "uniform,sage" })).toThrow(
      /takes neither --methods nor --seeds/,
    );
  });

  it("through the CLI: usage errors exit 2 before any GPU work; --help lists the options", async () => {
    const unknown = await run(["bench", "speed"]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('unknown benchmark suite "speed"; expected one of convergence');
    const badSeeds = await run(["bench", "convergence", "--seeds", "1,2"]);
    expect(badSeeds.code).toBe(2);
    expect(badSeeds.err).toContain("at least 3 seeds");
    const badAblation = await run(["bench", "convergence", "--ablations", "--seeds", "1,2,3"]);
    expect(badAblation.code).toBe(2);
    expect(badAblation.err).toContain("takes neither --methods nor --seeds");
    const badInt = await run(["bench", "convergence", "--steps", "0"]);
    expect(badInt.code).toBe(2);
    expect(badInt.err).toContain("--steps must be an integer ≥ 1");
    const help = await run(["bench", "--help"]);
    expect(help.code).toBe(0);
    for (const flag of [
      "--methods <list>",
      "--seeds <list>",
      "--tuning-seeds <list>",
      "--steps <n>",
      "--target <acc>",
      "--ablations",
    ])
      expect(help.out).toContain(flag);
    const missing = await run(["bench"]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("missing required argument 'suite'");
  });

  it("names results by adapter and checks the issue's targets from a summary", () => {
    expect(adapterSlug("mesa / software / llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)")).toBe(
      "mesa-software-llvmpipe",
    );
    const m = (method: string, steps: number | null, wall: number | null, hardest: number) => ({
      method,
      stepsRatio: steps === null ? null : { value: steps, lo: null, hi: null },
      wallRatio: wall === null ? null : { value: wall, lo: null, hi: null },
      finalHardest: { mean: hardest, lo: null, hi: null, n: 3 },
    });
    const summary = (methods: unknown[]) =>
      ({ methods }) as unknown as Parameters<typeof convergenceTargets>[0];
    expect(convergenceTargets(summary([m("uniform", 1, 1, 0.2), m("sage", 0.5, 0.9, 0.2)]))).toEqual({
      stepsRatioAtMost0_6: true,
      wallRatioAtMost0_8: false,
      hardestAtLeastUniform: true,
    });
    expect(convergenceTargets(summary([m("uniform", 1, 1, 0.3), m("sage", null, null, 0.2)]))).toEqual({
      stepsRatioAtMost0_6: null,
      wallRatioAtMost0_8: null,
      hardestAtLeastUniform: false,
    });
  });
});
