import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  ablationRows,
  areaUnderCurve,
  type ComparisonStudyRecord,
  type ReportError,
  rewriteConvergenceReport,
  rewriteConvergenceReportFile,
  type StudyCommonRecord,
  type WriteConvergenceStudyOptions,
  writeConvergenceStudy,
} from "../src/index.js";
import { syntheticRuns } from "./synthetic.js";

const dirs: string[] = [];
const tempDir = async () => {
  const d = await mkdtemp(join(tmpdir(), "sage-convergence-"));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A study record shaped like `@sage/trainer`'s `runConvergenceStudy` result. */
function common(methods: string[]): StudyCommonRecord {
  return {
    design: {
      task: "chains",
      quick: true,
      methods,
      noiseMethods: ["uniform", "sage"],
      seeds: [1, 2, 3],
      tuningSeeds: [100],
      batchSize: 8,
      plan: { evalProblemsPerLevel: 8 },
    },
    candidates: { pairs: 197, stats: { problems: 80, samples: 640, withPairs: 61 } },
    fixedTarget: { target: 0.4, start: 0.1, final: 0.43 },
    target: 0.4,
    gate: { tuningGain: 33, points: 10, passed: true },
    evalDescription: "pass@1 = mean of 2 samples per problem at temperature 1",
  };
}

const details = (runs: ReturnType<typeof syntheticRuns>, root: string) =>
  runs.map((r) => ({
    method: r.method,
    seed: r.seed,
    steps: 200,
    wallMs: r.points.at(-1)!.wallMs,
    runDir: join(root, "out", `${r.method}-s${r.seed}`),
    batches: [[0, 1]],
  }));

/** `writeConvergenceStudy`'s options for a tuning-seed probe (ablations, SNR) written to `dir`, logging to `lines`. */
const probeOptions = (dir: string, lines: string[]): WriteConvergenceStudyOptions => ({
  resultsDir: dir,
  name: "convergence-chains-test",
  adapter: "a",
  machine: "m",
  startPolicy: "s",
  runsRelativeTo: dir,
  log: (l) => lines.push(l),
});

describe("writeConvergenceStudy", () => {
  it("writes the endpoints, the report and the JSON of a comparison, run folders relative", async () => {
    const dir = await tempDir();
    const runs = syntheticRuns([1, 2, 3]);
    const noisy = syntheticRuns([1, 2, 3]).filter((r) => r.method !== "hard-mining");
    const study: ComparisonStudyRecord = {
      ...common(["uniform", "hard-mining", "sage"]),
      mode: "comparison",
      reported: { runs, details: details(runs, dir) },
      noisy: { runs: noisy, details: details(noisy, dir), labelNoise: { flippedIds: ["a", "b"] } },
      noise: { share: 0.2, seed: 7 },
      strataLabels: ["k = 1", "k = 2", "k = 3", "k = 4"],
      designMisses: ["3 reported seeds < 5"],
      timing: { seconds: 12, unitCosts: { sampleMs: 1 }, fullDesignMinutes: { total: 3 } },
    };
    const lines: string[] = [];
    const w = await writeConvergenceStudy(study, {
      resultsDir: join(dir, "results"),
      name: "convergence-chains-test-quick",
      adapter: "test adapter",
      machine: "test machine",
      startPolicy: "assets/sft-chains",
      runsRelativeTo: dir,
      log: (l) => lines.push(l),
      report: { png: false },
    });
    if (w.mode !== "comparison") throw new Error("expected a comparison");
    expect(w.json).toBe(join(dir, "results", "convergence-chains-test-quick.json"));
    expect(w.html).toBe(join(dir, "results", "convergence-chains-test-quick", "report.html"));
    const json = JSON.parse(await readFile(w.json, "utf8"));
    expect(Object.keys(json).slice(-9)).toEqual([
      "noiseArm",
      "adapter",
      "config",
      "timing",
      "runs",
      "details",
      "noiseRuns",
      "noiseDetails",
      "verdict",
    ]);
    expect(json).toMatchObject({
      suite: "convergence",
      candidates: 197,
      batchSize: 8,
      tuningSeeds: [100],
      target: 0.4,
      methods: ["hard-mining", "sage"],
      adapter: "test adapter",
      timing: study.timing,
      verdict: w.verdict,
    });
    expect(json.noiseArm.methods).toEqual(["sage"]);
    expect(json.noiseArm.noise).toEqual({ share: 0.2, seed: 7, flipped: 2 });
    expect(json.config).toEqual({
      task: "chains",
      quick: true,
      plan: { evalProblemsPerLevel: 8 },
      startPolicy: "assets/sft-chains",
      pool: { pairs: 197, problems: 80, samples: 640, withPairs: 61 },
      strata: ["k = 1", "k = 2", "k = 3", "k = 4"],
      methods: ["uniform", "hard-mining", "sage"],
      noiseMethods: ["uniform", "sage"],
      seeds: [1, 2, 3],
      tuningSeeds: [100],
      target: { target: 0.4, start: 0.1, final: 0.43 },
      gate: { tuningGain: 33, points: 10, passed: true },
      designMisses: ["3 reported seeds < 5"],
    });
    // no batch lists and no machine paths in the details
    expect(json.details[0]).toEqual({
      method: "uniform",
      seed: 1,
      steps: 200,
      wallMs: 20000,
      runDir: "out/uniform-s1",
    });
    expect(json.noiseDetails).toHaveLength(6);
    expect(w.endpoints.endpoints.auc.sage).toBeDefined();
    const html = await readFile(w.html, "utf8");
    expect(html).toContain("Convergence (chains, quick): 3 methods over 3 seeds");
    expect(html).toContain("k = 1, k = 2, k = 3, k = 4");
    // the page and the verdict lead with the pre-registered endpoints, both arms
    expect(html).toContain("<h2>Pre-registered endpoints</h2>");
    expect(html).toContain(
      "<h3>Label-noise arm (20% of the labels swapped, 2 pairs; its own Holm family)</h3>",
    );
    expect(w.verdict).toMatch(
      /^Pre-registered endpoints \(3 paired seeds, 197 candidate pairs, 200 steps\): /,
    );
    expect(w.verdict.split("\n\n").map((p) => p.split(" ")[0])).toEqual([
      "Pre-registered",
      "Label-noise",
      "Secondary,",
    ]);
    expect(await readdir(join(dir, "results", "convergence-chains-test-quick"))).toEqual([
      "report.html",
      "report.json",
    ]);

    // rendered again from the JSON alone: the same page, the machine taken from the replaced report
    const first = html;
    await rm(w.html);
    const again = await rewriteConvergenceReportFile(w.json, { report: { png: false } });
    expect(again.html).toBe(w.html);
    expect(again.verdict).toBe(w.verdict);
    const second = await readFile(w.html, "utf8");
    expect(second).toContain("<dt>machine</dt><dd>test machine</dd>");
    const body = (h: string) => h.slice(h.indexOf("<h2>Verdict</h2>"));
    expect(body(second)).toBe(body(first));
  });

  it("rewriteConvergenceReport: a file that is not a comparison study's JSON is a typed error naming what is wrong", async () => {
    const dir = await tempDir();
    const code = async (f: () => Promise<unknown>) => {
      try {
        await f();
      } catch (e) {
        return [(e as ReportError).code, (e as Error).message];
      }
      return ["no error", ""];
    };
    const opts = { machine: "m", report: { png: false } };
    expect(await code(() => rewriteConvergenceReport([1], dir, opts))).toEqual([
      "INPUT_INVALID",
      expect.stringContaining('expected the JSON of a convergence comparison (suite: "convergence")'),
    ]);
    expect(await code(() => rewriteConvergenceReport({ suite: "convergence-ablations" }, dir, opts))).toEqual(
      ["INPUT_INVALID", expect.stringContaining('received "convergence-ablations"')],
    );
    expect(
      await code(() => rewriteConvergenceReport({ suite: "convergence", config: {} }, dir, opts)),
    ).toEqual(["INPUT_INVALID", expect.stringContaining("study JSON .runs: expected an array of runs")]);
    expect(await code(() => rewriteConvergenceReportFile(join(dir, "study.txt")))).toEqual([
      "INPUT_INVALID",
      expect.stringContaining("expected a path ending in .json"),
    ]);
    expect(await code(() => rewriteConvergenceReportFile(join(dir, "missing.json")))).toEqual([
      "IO_FAILED",
      expect.stringContaining("could not read"),
    ]);
    await writeFile(join(dir, "broken.json"), "{ not json");
    expect(await code(() => rewriteConvergenceReportFile(join(dir, "broken.json")))).toEqual([
      "INPUT_INVALID",
      expect.stringContaining("expected JSON, received text that does not parse"),
    ]);
  });

  it("writes an ablation study's rows and JSON (no report)", async () => {
    const dir = await tempDir();
    const runs = syntheticRuns([100]);
    const lines: string[] = [];
    const w = await writeConvergenceStudy(
      {
        ...common(["uniform", "sage"]),
        mode: "ablations",
        ablations: { runs, details: details(runs, dir) },
        variants: { "sage-tau2": { tau: 2 } },
        seconds: 5,
      },
      probeOptions(dir, lines),
    );
    if (w.mode !== "ablations") throw new Error("expected ablations");
    expect(w.json).toBe(join(dir, "convergence-ablations-chains-test.json"));
    const json = JSON.parse(await readFile(w.json, "utf8"));
    expect(Object.keys(json)).toEqual([
      "suite",
      "adapter",
      "task",
      "quick",
      "plan",
      "target",
      "candidates",
      "tuningSeeds",
      "ablations",
      "rows",
      "seconds",
      "runs",
      "details",
      "note",
    ]);
    expect(json).toMatchObject({
      suite: "convergence-ablations",
      candidates: 197,
      ablations: { "sage-tau2": { tau: 2 } },
    });
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^sage {11}seed 100: .* \(\+0\.0 vs sage\)/);
  });

  it("ablationRows: AUC, final and hardest stratum per run, AUC against sage's on the same seed", () => {
    const runs = syntheticRuns([1]);
    const rows = ablationRows(runs);
    const sage = areaUnderCurve(runs.find((r) => r.method === "sage")!.points);
    const uniform = runs.find((r) => r.method === "uniform")!;
    expect(rows[0]).toEqual({
      method: "uniform",
      seed: 1,
      start: uniform.points[0]!.accuracy,
      final: uniform.points.at(-1)!.accuracy,
      auc: areaUnderCurve(uniform.points),
      aucVsSage: areaUnderCurve(uniform.points) - sage,
      hardestFinal: uniform.points.at(-1)!.byStratum!.at(-1),
      meanSnr: null,
      // the synthetic runs carry an SNR at every point after step 0 (10 intervals)
      snrByInterval: uniform.points.slice(1).map((p) => p.snr),
    });
    expect(rows[0]!.snrByInterval).toHaveLength(10);
    expect(ablationRows(runs.filter((r) => r.method !== "sage"))[0]!.aucVsSage).toBeNaN();
    // the runner's mean SNR comes from the details, matched by method and seed
    const withSnr = ablationRows(runs, [
      { method: "sage", seed: 1, runDir: "x", meanSnr: 1.7 },
      { method: "uniform", seed: 1, runDir: "y", meanSnr: null },
    ]);
    expect(withSnr.map((r) => r.meanSnr)).toEqual([null, null, 1.7]);
  });

  it("writes the SNR probe as convergence-snr-….json, its rows carrying each run's gradient SNR", async () => {
    const dir = await tempDir();
    const runs = syntheticRuns([100]);
    const lines: string[] = [];
    const w = await writeConvergenceStudy(
      {
        ...common(["uniform", "sage"]),
        mode: "ablations",
        kind: "snr",
        ablations: {
          runs,
          details: details(runs, dir).map((d, i) => ({ ...d, meanSnr: 1 + i / 10 })),
        },
        variants: { uniform: { gradientAccumulation: 2, gradSnrEvery: 5 } },
        seconds: 5,
      },
      probeOptions(dir, lines),
    );
    if (w.mode !== "ablations") throw new Error("expected the SNR probe");
    expect(w.json).toBe(join(dir, "convergence-snr-chains-test.json"));
    const json = JSON.parse(await readFile(w.json, "utf8"));
    expect(json.suite).toBe("convergence-snr");
    expect(json.note).toMatch(/^Tuning seeds only, descriptive, added after the pre-registered run/);
    expect(json.rows.map((r: { meanSnr: number }) => r.meanSnr)).toEqual([1, 1.1, 1.2]);
    expect(lines[2]).toMatch(/, gradient SNR 1\.20$/);
  });
});
