import { describe, expect, it } from "vitest";
import {
  ABLATION_METHODS,
  ABLATIONS,
  CHAINS_BENCH_PLAN,
  CHAINS_BENCH_QUICK_PLAN,
  checkDesign,
  convergenceDesign,
  convergencePlan,
  convergenceStudyName,
  DEMO_PLANS,
  DESIGN_MINIMUMS,
  designFacts,
  estimateMinutes,
  evalStepsOf,
  FULL_METHODS,
  METHOD_NAMES,
  methodOf,
  NOISE_METHODS,
  parseMethodList,
  parseSeedList,
  SCORE_ONLY_NO_STABILITY,
  SNR_METHODS,
  SNR_TRAIN,
  TrainerError,
  withSnr,
} from "../src/index.js";

/** The `CONFIG_INVALID` message `f` throws. */
function configError(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(TrainerError);
    expect((error as TrainerError).code).toBe("CONFIG_INVALID");
    return (error as Error).message;
  }
  throw new Error("expected a CONFIG_INVALID error");
}

describe("convergence v2: the pre-registered design", () => {
  it("the full design meets every minimum; its plan is evaluated 5 times after step 0", () => {
    const d = convergenceDesign();
    expect(d.plan).toEqual(CHAINS_BENCH_PLAN);
    expect(d.evalSteps).toEqual([30, 60, 90, 120, 150]);
    expect(d.pool).toBe(2 * 8 * 10);
    expect(d.upFrontMisses).toEqual([]);
    expect(d.methods).toEqual([...FULL_METHODS]);
    expect(d.noiseMethods).toEqual([...NOISE_METHODS]);
    expect([d.seeds, d.tuningSeeds]).toEqual([[1, 2, 3, 4, 5], [100]]);
    // a built set of ≈ 2,500 candidates meets the candidate minimum (2 × 150 × 8 = 2,400); 2,000 does not
    expect(checkDesign(designFacts(d, 2500))).toEqual([]);
    expect(checkDesign(designFacts(d, 2000))).toEqual([
      "2000 candidate pairs < 2400 (2 × 150 steps × batch 8)",
    ]);
  });

  it("checkDesign names every minimum a design misses", () => {
    expect(
      checkDesign({
        steps: 10,
        batchSize: 4,
        candidates: 50,
        pool: 20,
        seeds: [1, 2, 100],
        tuningSeeds: [100],
        heldOutProblems: 40,
        evalSamples: 2,
        evalPoints: 1,
      }),
    ).toEqual([
      "50 candidate pairs < 80 (2 × 10 steps × batch 4)",
      "SAGE's pool P = 20 > a third of the 50 candidates",
      `3 reported seeds < ${DESIGN_MINIMUMS.reportedSeeds}`,
      "reported seeds 100 are tuning seeds",
      "40 held-out problems < 150",
      "2 samples per held-out problem < 8",
      "1 evaluation points after step 0 < 4",
    ]);
  });

  it("--quick is a smoke run: recorded misses instead of a refusal", () => {
    const q = convergenceDesign({ quick: true });
    expect(q.plan).toEqual(CHAINS_BENCH_QUICK_PLAN);
    expect(q.seeds).toEqual([1, 2]);
    expect(q.upFrontMisses.length).toBeGreaterThan(0);
    expect(configError(() => convergenceDesign({ seeds: [1, 2] }))).toBe(
      "the design misses the pre-registered minimums: 2 reported seeds < 5",
    );
  });

  it("plans: steps override the plan and cap evalEvery; synthetic uses the demo plans", () => {
    expect(convergencePlan("chains", false, 40)).toMatchObject({ steps: 40, evalEvery: 30 });
    expect(convergencePlan("chains", true, 3)).toMatchObject({ steps: 3, evalEvery: 3 });
    expect(convergencePlan("synthetic", true)).toEqual(DEMO_PLANS.synthetic[1]);
    expect(evalStepsOf({ steps: 10, evalEvery: 4 })).toEqual([4, 8, 10]);
    expect(evalStepsOf({ steps: 8, evalEvery: 4 })).toEqual([4, 8]);
  });

  it("methods: the stability ablation and SAGE's ablations are labelled specs", () => {
    expect(methodOf("uniform")).toBe("uniform");
    expect(methodOf(SCORE_ONLY_NO_STABILITY)).toEqual({
      label: "score-only-nostab",
      selector: "score-only",
      curriculum: { stability: { k: 1, alpha: 0 } },
    });
    expect(methodOf("sage-tau2")).toEqual({ label: "sage-tau2", selector: "sage", curriculum: { tau: 2 } });
    expect(ABLATION_METHODS).toEqual(["uniform", "sage", ...Object.keys(ABLATIONS)]);
    for (const m of ABLATION_METHODS) expect(METHOD_NAMES).toContain(m);
  });

  it("--snr: the SNR methods as labelled specs with 2 micro-batches and the SNR every 5 steps; a mode of its own", () => {
    expect(SNR_TRAIN).toEqual({ gradientAccumulation: 2, gradSnrEvery: 5 });
    expect(SNR_METHODS.map(withSnr)).toEqual([
      { label: "uniform", selector: "uniform", train: SNR_TRAIN },
      { label: "score-only", selector: "score-only", train: SNR_TRAIN },
      {
        label: "score-only-nostab",
        selector: "score-only",
        curriculum: { stability: { k: 1, alpha: 0 } },
        train: SNR_TRAIN,
      },
      { label: "sage", selector: "sage", train: SNR_TRAIN },
    ]);
    expect(configError(() => withSnr("sft-chosen"))).toMatch(/^--snr: sft-chosen takes no DPO step/);
    const d = convergenceDesign({ snr: true });
    expect(d).toMatchObject({ snr: true, ablations: false, tuningSeeds: [100] });
    expect(convergenceDesign({}).snr).toBe(false);
    expect(configError(() => convergenceDesign({ snr: true, ablations: true }))).toBe(
      "--ablations and --snr are separate modes",
    );
  });

  it("estimateMinutes: pool + tuning + reported + noise at the unit costs", () => {
    const m = estimateMinutes(
      { sampleMs: 10, evalDrawMs: 1, stepMs: { uniform: 100, sage: 200 } },
      {
        poolSamples: 6000,
        evalDraws: 600,
        evalPoints: 2,
        steps: 30,
        seeds: 2,
        tuningSeeds: 1,
        methods: ["uniform", "sage", "random"],
        noiseMethods: ["uniform"],
      },
    );
    // pool 60 s; a run = 30 steps × cost + 2 × 600 ms; an arm = seeds × (600 + Σ runs)
    // tuning 600 + 3000 + 1200 = 4.8 s; reported 2 × (600 + 4200 + 7200 + 4200) = 32.4 s; noise 2 × (600 + 4200) = 9.6 s
    expect(m).toEqual({ total: 1.8, pool: 1, tuning: 0.1, reported: 0.5, noise: 0.2 });
  });

  it("parses seed and method lists with messages naming the flag, expectation and value", () => {
    expect(parseSeedList("--seeds", "3, 1,2")).toEqual([3, 1, 2]);
    expect(configError(() => parseSeedList("--seeds", "1,x"))).toBe(
      "--seeds: expected a positive integer, received 'x'",
    );
    expect(configError(() => parseSeedList("--tuning-seeds", "0"))).toBe(
      "--tuning-seeds: expected an integer in [1, 1000000], received 0",
    );
    expect(configError(() => parseSeedList("--seeds", "1,1"))).toBe("--seeds: a seed is repeated in '1,1'");
    expect(parseMethodList("--methods", "uniform, sage")).toEqual(["uniform", "sage"]);
    expect(configError(() => parseMethodList("--methods", "uniform,dpo"))).toMatch(
      /^--methods: unknown 'dpo'; expected some of /,
    );
    expect(configError(() => convergenceDesign({ task: "gsm8k" }))).toBe(
      "--task: expected one of synthetic, chains, received 'gsm8k'",
    );
    expect(configError(() => convergenceDesign({ quick: true, seeds: [1, 2], tuningSeeds: [2] }))).toBe(
      "--seeds and --tuning-seeds share 2",
    );
  });

  it("names a study's files by task and adapter, as the benchmark always has", () => {
    const lavapipe = "mesa / software / llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)";
    expect(convergenceStudyName("chains", lavapipe, false)).toBe("convergence-chains-mesa-software-llvmpipe");
    expect(convergenceStudyName("synthetic", lavapipe, true)).toBe(
      "convergence-synthetic-mesa-software-llvmpipe-quick",
    );
    expect(convergenceStudyName("chains", "", false)).toBe("convergence-chains-unknown");
  });
});
