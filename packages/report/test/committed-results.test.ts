import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type ArmEndpoints,
  armEndpointsTable,
  type ConvergenceEndpoints,
  convergenceEndpoints,
  endpointsVerdict,
  escapeHtml,
  type RunSeries,
  tuningTarget,
} from "../src/index.js";

/*
 * The committed verdict of the convergence benchmark v2 is reproducible from the committed raw
 * files: the reported arm's per-run results (`benchmarks/results/convergence-chains-v2-run/`) give
 * again, with today's `convergenceEndpoints`, the numbers in `reported-arm-endpoints.json` (computed
 * by the run's pinned commit) that docs/benchmarks.md and the README quote. The t-based endpoints
 * must agree to rounding; the bootstrap intervals are left out, because the bootstrap's generator
 * changed after the run (docs/decisions.md, 17).
 */
const RUN = join(__dirname, "..", "..", "..", "benchmarks", "results", "convergence-chains-v2-run");

const SUITE = join(RUN, "..", "convergence-chains-mesa-software-llvmpipe.json");

const runFile = (arm: string, file: string) =>
  JSON.parse(readFileSync(join(RUN, arm, "results", file), "utf8")) as {
    series: RunSeries;
    detail: { steps: number; batches: number[][]; flippedSelections: number };
  };
const series = (arm: string, file: string): RunSeries => runFile(arm, file).series;
/** An arm's runs of `methods` on the reported seeds 1–5, in that order. */
const armRuns = (arm: string, methods: readonly string[]): RunSeries[] =>
  methods.flatMap((m) => [1, 2, 3, 4, 5].map((s) => series(arm, `${m}-s${s}.json`)));
const QUOTED = join(RUN, "reported-arm-endpoints.json");

/** Compares two JSON values: numbers to 10 decimals, everything else exactly, naming the path. */
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

/** One arm's bootstrap-free endpoints, recomputed (`got`) against those on file (`quoted`). */
const closeArm = (got: ArmEndpoints, quoted: ArmEndpoints, where: string): void => {
  close(got.endpoints.auc, quoted.endpoints.auc, `${where}auc`);
  close(got.endpoints.hardest, quoted.endpoints.hardest, `${where}hardest`);
  close(got.endpoints.scoringShare, quoted.endpoints.scoringShare, `${where}scoringShare`);
  close(got.power, quoted.power, `${where}power`);
  close(got.perSeed, quoted.perSeed, `${where}perSeed`);
  close(got.uniformGain, quoted.uniformGain, `${where}uniformGain`);
};

describe("the committed v2 reported arm", () => {
  it("recomputes to the quoted AUC differences, Holm p-values, hardest-stratum differences, MDE and steps to target", () => {
    const quoted = JSON.parse(readFileSync(QUOTED, "utf8"));
    // the baseline and the compared methods, as the run's own endpoints list them
    const METHODS: string[] = [quoted.baseline, ...quoted.methods];
    expect(METHODS).toHaveLength(10);
    const files = readdirSync(join(RUN, "reported", "results")).filter((f) => !f.startsWith("initial-"));
    expect(files).toHaveLength(50);
    const runs = armRuns("reported", METHODS);
    const fixed = tuningTarget([series("tuning", "uniform-s100.json")]);
    expect(fixed.target).toBeCloseTo(quoted.target, 12);
    const got = convergenceEndpoints(runs, {
      target: fixed.target,
      methods: METHODS.slice(1),
      design: { candidates: quoted.candidates, batchSize: 8, tuningSeeds: [100] },
    });
    closeArm(got, quoted, "");
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

  it("is the suite's own: the JSON the finished run wrote carries the same reported-arm endpoints", () => {
    const quoted = JSON.parse(readFileSync(QUOTED, "utf8"));
    const suite = JSON.parse(readFileSync(SUITE, "utf8"));
    for (const k of ["target", "uniformGain", "endpoints", "power", "perSeed"])
      expect(suite[k], k).toEqual(quoted[k]);
  });
});

describe("the committed v2 report", () => {
  it("shows the JSON's own endpoints: both arms' tables and their verdict paragraphs", () => {
    const suite = JSON.parse(readFileSync(SUITE, "utf8")) as ConvergenceEndpoints;
    const html = readFileSync(join(SUITE.slice(0, -".json".length), "report.html"), "utf8");
    expect(html).toContain(armEndpointsTable(suite, suite.confidence));
    expect(html).toContain(armEndpointsTable(suite.noiseArm!, suite.confidence));
    const paragraphs = endpointsVerdict(suite).split("\n\n");
    expect(paragraphs).toHaveLength(2);
    for (const p of paragraphs) expect(html).toContain(`<p class="verdict">${escapeHtml(p)}</p>`);
    expect(paragraphs[0]).toContain("sage − uniform: −1.8 points (95% CI −2.6 to −1.0), Holm p = 0.020");
    expect(paragraphs[1]).toContain("sage − uniform: −6.0 points (95% CI −7.9 to −4.1), Holm p < 0.001");
  });
});

describe("the committed v2 label-noise arm", () => {
  const suite = JSON.parse(readFileSync(SUITE, "utf8"));
  const arm = suite.noiseArm;
  const METHODS: string[] = [arm.baseline, ...arm.methods];

  it("recomputes, from its raw result files, to the suite's noise-arm endpoints (its own Holm family)", () => {
    expect(METHODS).toEqual(["uniform", "score-only", "score-only-nostab", "sage"]);
    const files = readdirSync(join(RUN, "noise", "results")).filter((f) => !f.startsWith("initial-"));
    expect(files).toHaveLength(20);
    const runs = armRuns("noise", METHODS);
    // the reported arm is needed only because convergenceEndpoints computes both families in one call
    const reported = armRuns("reported", [suite.baseline, ...suite.methods]);
    const got = convergenceEndpoints(reported, {
      target: suite.target,
      methods: suite.methods,
      design: { candidates: suite.candidates, batchSize: suite.batchSize, tuningSeeds: suite.tuningSeeds },
      noiseArm: { runs, target: arm.target, methods: arm.methods, noise: arm.noise },
    });
    const noisy = got.noiseArm!;
    closeArm(noisy, arm, "noise.");
    // as docs/benchmarks.md states it: every score-based selector is below uniform, each with Holm p < 0.01
    for (const m of arm.methods) {
      expect(noisy.endpoints.auc[m]!.diff, m).toBeLessThan(-0.04);
      expect(noisy.endpoints.auc[m]!.pHolm, m).toBeLessThan(0.01);
      expect(noisy.endpoints.stepsRatio[m]!.reason, m).toBe("censored");
    }
  });

  it("trained the score-based selectors on the swapped pairs far more often than their 20% share", () => {
    // diagnostic quoted in the docs: share of the 150 × 8 trained pairs whose labels were swapped
    const share = (m: string) =>
      [1, 2, 3, 4, 5].map((s) => {
        const { detail } = runFile("noise", `${m}-s${s}.json`);
        const trained = detail.batches.reduce((n, b) => n + b.length, 0);
        expect(trained).toBe(detail.steps * suite.batchSize);
        return detail.flippedSelections / trained;
      });
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(arm.noise.flipped / suite.candidates).toBeCloseTo(0.2, 3);
    expect(mean(share("uniform"))).toBeCloseTo(0.204, 3);
    expect(mean(share("score-only"))).toBeCloseTo(0.357, 3);
    expect(mean(share("score-only-nostab"))).toBeCloseTo(0.374, 3);
    expect(mean(share("sage"))).toBeCloseTo(0.351, 3);
  });
});

describe("the committed SNR probe (tuning seed, descriptive)", () => {
  it("carries the gradient SNRs docs/benchmarks.md quotes, each the mean of its 30 measurements", () => {
    const file = join(RUN, "..", "convergence-snr-chains-mesa-software-llvmpipe.json");
    const probe = JSON.parse(readFileSync(file, "utf8")) as {
      suite: string;
      tuningSeeds: number[];
      rows: { method: string; seed: number; meanSnr: number; snrByInterval: number[] }[];
    };
    expect(probe.suite).toBe("convergence-snr");
    expect(probe.tuningSeeds).toEqual([100]);
    const snr = Object.fromEntries(probe.rows.map((r) => [r.method, r.meanSnr]));
    expect(Object.keys(snr)).toEqual(["uniform", "score-only", "score-only-nostab", "sage"]);
    const quoted = { uniform: 1.27, "score-only": 1.16, "score-only-nostab": 1.15, sage: 1.1 };
    for (const [m, v] of Object.entries(quoted)) expect(snr[m], m).toBeCloseTo(v, 2);
    // five 30-step intervals of 6 measurements each: their mean is the run's mean
    for (const r of probe.rows) {
      expect(r.snrByInterval).toHaveLength(5);
      expect(r.snrByInterval.reduce((a, b) => a + b, 0) / 5).toBeCloseTo(r.meanSnr, 10);
    }
    expect(snr.sage! / snr.uniform!).toBeCloseTo(0.86, 2);
  });
});
