import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CHAINS_BENCH_PLAN,
  CHAINS_BENCH_QUICK_PLAN,
  convergenceDesign,
  DEMO_PLANS,
  FULL_METHODS,
  NOISE_METHODS,
  QUICK_METHODS,
  QUICK_NOISE_METHODS,
} from "@sage/trainer";
import { describe, expect, it } from "vitest";
import {
  CliError,
  convergenceRequest,
  convergenceSettings,
  defaultResultsDir,
  runCli,
} from "../src/index.js";

/** A finished comparison study's JSON: the committed --quick run of the convergence benchmark. */
const STUDY_JSON = join(
  __dirname,
  "..",
  "..",
  "..",
  "benchmarks",
  "results",
  "convergence-chains-mesa-software-llvmpipe-quick.json",
);

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

/** The usage error `f` throws (a `CliError` USAGE_INVALID, exit 2). */
function usageError(f: () => unknown): CliError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).code).toBe("USAGE_INVALID");
    expect((error as CliError).exitCode).toBe(2);
    return error as CliError;
  }
  throw new Error("expected a usage error");
}

describe("sage bench convergence: options → the library's study", () => {
  it("defaults are the benchmark's: the pre-registered v2 design (chains, 10 methods, seeds 1–5, tuning 100)", () => {
    const s = convergenceSettings({});
    // the very design `npm run bench -- convergence` runs without options
    expect(s).toEqual(convergenceDesign({}));
    expect(s.task).toBe("chains");
    expect(s.methods).toEqual([...FULL_METHODS]);
    expect(s.noiseMethods).toEqual([...NOISE_METHODS]);
    expect(s.seeds).toEqual([1, 2, 3, 4, 5]);
    expect(s.tuningSeeds).toEqual([100]);
    expect(s.plan).toEqual(CHAINS_BENCH_PLAN);
    expect(s.evalSteps).toEqual([30, 60, 90, 120, 150]);
    expect([s.quick, s.ablations]).toEqual([false, false]);
    expect(s.upFrontMisses).toEqual([]);
    const q = convergenceSettings({ quick: true });
    expect(q).toEqual(convergenceDesign({ quick: true }));
    expect(q.plan).toEqual(CHAINS_BENCH_QUICK_PLAN);
    expect(q.methods).toEqual([...QUICK_METHODS]);
    expect(q.noiseMethods).toEqual([...QUICK_NOISE_METHODS]);
    expect(q.seeds).toEqual([1, 2]);
    // a smoke run is not held to the minimums: it records what it misses
    expect(q.upFrontMisses.length).toBeGreaterThan(0);
  });

  it("maps every option to the study request, lists parsed", () => {
    expect(convergenceRequest({})).toEqual({});
    const o = {
      task: "synthetic",
      quick: true,
      ablations: true,
      methods: "uniform, sage,sft-chosen,score-only-nostab",
      noiseMethods: "none",
      seeds: "4,5,6",
      tuningSeeds: "9,10",
      steps: 12,
      model: "some/dir",
      out: "some/out",
    };
    expect(convergenceRequest(o)).toEqual({
      task: "synthetic",
      quick: true,
      ablations: true,
      methods: ["uniform", "sage", "sft-chosen", "score-only-nostab"],
      noiseMethods: [],
      seeds: [4, 5, 6],
      tuningSeeds: [9, 10],
      steps: 12,
    });
    const s = convergenceSettings(o);
    expect(s.task).toBe("synthetic");
    expect(s.plan).toMatchObject({ ...DEMO_PLANS.synthetic[1], steps: 12 });
    expect(s.plan.evalEvery).toBe(Math.min(DEMO_PLANS.synthetic[1].evalEvery, 12));
    expect(s.noiseMethods).toEqual([]);
    expect(s.ablations).toBe(true);
    expect(convergenceSettings({ quick: true, noiseMethods: "uniform,sage-tau2" }).noiseMethods).toEqual([
      "uniform",
      "sage-tau2",
    ]);
    // --steps caps the evaluation interval (the plan evaluates every 4 on --quick)
    expect(convergenceSettings({ quick: true, steps: 3 }).evalSteps).toEqual([3]);
  });

  it("rejects bad options with USAGE_INVALID naming what was expected and received", () => {
    expect(usageError(() => convergenceSettings({ task: "gsm8k" })).message).toBe(
      "--task: expected one of synthetic, chains, received 'gsm8k'",
    );
    expect(usageError(() => convergenceSettings({ methods: "uniform,sage,best" })).message).toMatch(
      /^--methods: unknown 'best'; expected some of .*uniform, .*sft-chosen, score-only-nostab, sage-raw/,
    );
    expect(usageError(() => convergenceSettings({ methods: "uniform,random" })).message).toMatch(
      /--methods must include uniform .* and sage/,
    );
    expect(usageError(() => convergenceSettings({ methods: "uniform,sage,sage" })).message).toMatch(
      /--methods: a method is repeated/,
    );
    expect(usageError(() => convergenceSettings({ noiseMethods: "sage" })).message).toMatch(
      /--noise-methods must include uniform/,
    );
    expect(usageError(() => convergenceSettings({ runs: "some/dir" })).message).toBe(
      "--runs goes with --greedy",
    );
    expect(usageError(() => convergenceSettings({ greedy: true, ablations: true })).message).toBe(
      "--greedy and --ablations are separate modes",
    );
    expect(convergenceSettings({ greedy: true, runs: "some/dir" })).toEqual(convergenceDesign({}));
    expect(usageError(() => convergenceSettings({ greedy: true, snr: true })).message).toBe(
      "--greedy and --snr are separate modes",
    );
    expect(usageError(() => convergenceSettings({ snr: true, ablations: true })).message).toBe(
      "--ablations and --snr are separate modes",
    );
    expect(convergenceSettings({ snr: true })).toEqual(convergenceDesign({ snr: true }));
    expect(usageError(() => convergenceSettings({ seeds: "1,2,x" })).message).toBe(
      "--seeds: expected a positive integer, received 'x'",
    );
    expect(usageError(() => convergenceSettings({ seeds: "0,1" })).message).toMatch(
      /--seeds: expected an integer in \[1, 1000000\], received 0/,
    );
    expect(usageError(() => convergenceSettings({ seeds: "1,1,2" })).message).toMatch(/a seed is repeated/);
    expect(usageError(() => convergenceSettings({ quick: true, seeds: "1" })).message).toMatch(
      /at least 2 reported seeds/,
    );
    expect(usageError(() => convergenceSettings({ seeds: "1,2,3,4,5", tuningSeeds: "3" })).message).toBe(
      "--seeds and --tuning-seeds share 3",
    );
    expect(usageError(() => convergenceSettings({ steps: 200_000 })).message).toMatch(
      /--steps: expected an integer in \[1, 100000\], received 200000/,
    );
    // a full run below the pre-registered minimums is refused before anything is sampled
    expect(usageError(() => convergenceSettings({ seeds: "1,2,3" })).message).toBe(
      "the design misses the pre-registered minimums: 3 reported seeds < 5",
    );
    expect(usageError(() => convergenceSettings({ steps: 20 })).message).toMatch(
      /minimums: .*1 evaluation points after step 0 < 4/,
    );
  });

  it("through the CLI: usage errors exit 2 before the GPU opens; --help lists the options", async () => {
    for (const [args, message] of [
      [["bench", "speed"], 'unknown benchmark suite "speed"; expected one of convergence'],
      [["bench", "convergence", "--seeds", "1,2,3"], "3 reported seeds < 5"],
      [["bench", "convergence", "--task", "gsm8k"], "--task: expected one of synthetic, chains"],
      [["bench", "convergence", "--quick", "--methods", "uniform,best"], "--methods: unknown 'best'"],
      [["bench", "convergence", "--quick", "--seeds", "1,2", "--tuning-seeds", "2"], "share 2"],
      [["bench", "convergence", "--steps", "0"], "--steps must be an integer ≥ 1"],
      [["bench", "convergence", "--model", "/nonexistent/sage-model"], "expected an existing folder"],
      [["bench", "convergence", "--runs", "x"], "--runs goes with --greedy"],
      [["bench", "convergence", "--report-from", "/nonexistent/study.json"], "expected an existing file"],
      [
        ["bench", "convergence", "--report-from", STUDY_JSON, "--quick"],
        "--report-from takes no other option (the study's JSON holds its design)",
      ],
    ] as const) {
      const r = await run([...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err).toContain(message);
      // the adapter line is the first thing written once the GPU is open
      expect(r.err).not.toContain("adapter:");
      expect(r.out).toBe("");
    }
    const help = await run(["bench", "--help"]);
    expect(help.code).toBe(0);
    for (const flag of [
      "--task <name>",
      "--quick",
      "--ablations",
      "--snr",
      "--methods <list>",
      "--noise-methods <list>",
      "--seeds <list>",
      "--tuning-seeds <list>",
      "--steps <n>",
      "--model <dir>",
      "--out <dir>",
      "--greedy",
      "--runs <dir>",
      "--report-from <file>",
    ])
      expect(help.out).toContain(flag);
    // the v1 benchmark's options are gone
    for (const flag of ["--target", "--run-dir", "--eval-every", "--learning-rate"])
      expect(help.out).not.toContain(flag);
    const missing = await run(["bench"]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("missing required argument 'suite'");
  });

  it("--report-from renders a finished study's report again from its JSON alone (no GPU)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sage-bench-report-"));
    try {
      const file = join(dir, "study.json");
      await copyFile(STUDY_JSON, file);
      const r = await run(["bench", "convergence", "--report-from", file]);
      expect(r.err).not.toContain("adapter:");
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/^Pre-registered endpoints \(2 paired seeds, 197 candidate pairs, 16 steps\): /);
      expect(r.out).toContain(`results: ${file}\nreport: ${join(dir, "study", "report.html")}\n`);
      const html = await readFile(join(dir, "study", "report.html"), "utf8");
      expect(html).toContain("<h2>Pre-registered endpoints</h2>");
      expect(html).toContain("<dt>machine</dt><dd>not recorded</dd>");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("writes where the benchmark writes: benchmarks/results (quick: out) of the repository", () => {
    expect(defaultResultsDir(false, __dirname)).toMatch(/benchmarks[/\\]results$/);
    expect(defaultResultsDir(true, __dirname)).toMatch(/benchmarks[/\\]out$/);
  });
});
