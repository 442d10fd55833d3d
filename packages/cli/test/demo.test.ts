import { mkdtemp, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateSynthetic } from "@sage/eval-math";
import { loadModelDir } from "@sage/model";
import { describe, expect, it } from "vitest";
import {
  DEMO_PLAN,
  demoPlan,
  QUICK_PLAN,
  SFT_RECIPE,
  shippedModelDir,
  syntheticGrade,
  syntheticPairGrade,
  syntheticProblems,
  syntheticSftExamples,
} from "../src/index.js";
import { run } from "./helpers.js";

// Runs on the WebGPU adapter Dawn finds (lavapipe on a machine without a GPU); never skipped.

describe("sage demo", () => {
  it("runs end to end on a micro plan and writes the HTML report, its PNG charts and the JSON", async () => {
    const out = join(await mkdtemp(join(tmpdir(), "sage-demo-")), "report");
    const r = await run([
      "demo",
      "--task",
      "synthetic",
      "--out",
      out,
      "--problems",
      "12",
      "--eval-problems",
      "2",
      "--samples",
      "4",
      "--steps",
      "2",
      "--eval-every",
      "1",
      "--no-progress",
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/adapter: /);
    expect(r.err).toMatch(/pairs: \d+ from \d+ of 36 problems/);
    expect(r.out).toContain(`report: ${join(out, "report.html")}`);
    const html = await readFile(join(out, "report.html"), "utf8");
    expect(html).toContain("<svg");
    expect(html).toContain("uniform");
    expect(html).toContain("sage");
    for (const chart of ["accuracy-steps", "accuracy-wall", "strata-steps", "frontier", "snr"]) {
      const png = await readFile(join(out, `${chart}.png`));
      // PNG signature
      expect(Array.from(png.subarray(0, 8)), chart).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
    }
    const json = JSON.parse(await readFile(join(out, "report.json"), "utf8"));
    expect(json.summary.methods.map((m: { method: string }) => m.method)).toEqual(["uniform", "sage"]);
    expect(json.config.strata).toEqual(["level 1", "level 2", "level 3"]);
    const series = JSON.parse(await readFile(join(out, "series.json"), "utf8"));
    expect(series.runs.map((r: { method: string }) => r.method)).toEqual(["uniform", "sage"]);
    for (const run of series.runs) expect(run.points.map((p: { step: number }) => p.step)).toEqual([0, 1, 2]);
    const timings = JSON.parse(await readFile(join(out, "timings.json"), "utf8"));
    expect(timings.total).toBeGreaterThan(0);
    expect((await stat(join(out, "pairs.jsonl"))).size).toBeGreaterThan(0);
  });

  it("--from-scratch runs SFT first and saves the start policy (a 2-step SFT samples no pairs: exit 2, said plainly)", async () => {
    const out = join(await mkdtemp(join(tmpdir(), "sage-demo-scratch-")), "report");
    const r = await run([
      "demo",
      "--task",
      "synthetic",
      "--from-scratch",
      "--sft-steps",
      "2",
      "--out",
      out,
      "--problems",
      "2",
      "--samples",
      "2",
      "--steps",
      "1",
      "--no-progress",
    ]);
    expect(r.err).toContain("SFT from scratch: tiny model (110208 parameters), 2 stages of 2 + 2 steps");
    const model = loadModelDir(join(out, "start", "model"));
    expect(model.config.hiddenSize).toBe(64);
    for (const [i, stage] of SFT_RECIPE.stages.entries()) {
      const sft = (await readFile(join(out, "start", `sft-${i + 1}.jsonl`), "utf8")).trim().split("\n");
      expect(sft).toHaveLength(stage.examples().length);
    }
    // an untrained model gets every sample wrong: no pairs, and the demo says why
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/only \d+ on-policy pairs/);
  });

  it("refuses a model size without a shipped checkpoint unless --from-scratch, and bad flags", async () => {
    const big = await run(["demo", "--model-size", "base", "--no-progress"]);
    expect(big.code).toBe(2);
    expect(big.err).toContain("--model-size base has no shipped checkpoint");
    const unknown = await run(["demo", "--model-size", "huge", "--no-progress"]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('--model-size must be one of tiny, small, base, large; received "huge"');
    // an existing folder (paths are checked before the command runs)
    const both = await run(["demo", "--from-scratch", "--model", shippedModelDir(), "--no-progress"]);
    expect(both.code).toBe(2);
    expect(both.err).toContain("--model and --from-scratch exclude each other");
    const help = await run(["demo", "--help"]);
    expect(help.code).toBe(0);
    for (const flag of ["--quick", "--out <dir>", "--from-scratch", "--model-size <size>"])
      expect(help.out).toContain(flag);
  });

  it("plans: --quick is smaller than the default; flags override; eval-every ≤ steps", () => {
    expect(QUICK_PLAN.steps).toBeLessThan(DEMO_PLAN.steps);
    expect(QUICK_PLAN.pairProblemsPerLevel).toBeLessThan(DEMO_PLAN.pairProblemsPerLevel);
    expect(demoPlan({ quick: true, task: "synthetic" })).toMatchObject({
      task: "synthetic",
      steps: QUICK_PLAN.steps,
      evalEvery: QUICK_PLAN.evalEvery,
    });
    // the default task is chains, and its quick plan is smaller too
    expect(demoPlan({}).task).toBe("chains");
    expect(demoPlan({ quick: true }).steps).toBeLessThan(demoPlan({}).steps);
    expect(demoPlan({ quick: true }).pairProblemsPerLevel).toBeLessThan(demoPlan({}).pairProblemsPerLevel);
    expect(demoPlan({ steps: 3 })).toMatchObject({ steps: 3, evalEvery: 3 });
    expect(() => demoPlan({ steps: 3, evalEvery: 4 })).toThrow(
      /--eval-every \(4\) must be at most --steps \(3\)/,
    );
  });

  it("the shipped checkpoint loads, and the synthetic helpers match the generator", () => {
    const model = loadModelDir(shippedModelDir());
    expect(model.tokenizer).toBeDefined();
    expect(model.config.numLayers).toBe(2);
    const [p] = generateSynthetic({ seed: 3000, level: 2, count: 1 });
    const [q] = syntheticProblems(3000, [2], 1);
    expect(q).toEqual({ id: p!.id, prompt: `q: ${p!.question}\na: `, answer: p!.answer, level: 2 });
    expect(syntheticGrade(p!.solution, p!.answer)).toBe(true);
    expect(syntheticGrade(`1+1=2\n\\boxed{${Number(p!.answer) + 1}}`, p!.answer)).toBe(false);
    // pairs: the answer must be right AND every step (a lucky answer through a wrong step is not chosen)
    expect(syntheticPairGrade(p!.solution, p!.answer)).toBe(true);
    expect(syntheticPairGrade("5-2=3\n\\boxed{3}", "3")).toBe(true);
    expect(syntheticPairGrade("5-2=4\n4-1=3\n\\boxed{3}", "3")).toBe(false);
    expect(syntheticGrade("5-2=4\n4-1=3\n\\boxed{3}", "3")).toBe(true);
    expect(syntheticPairGrade("\\boxed{3}", "3")).toBe(false); // no work at all
    const sft = syntheticSftExamples(1000, [1, 2], 2);
    expect(sft).toHaveLength(4);
    expect(sft[0]!.completion).toMatch(/\\boxed\{\d+\}$/);
  });
});
