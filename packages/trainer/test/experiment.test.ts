import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { GpuContext } from "@sage/kernels-webgpu";
import { createTestContext } from "@sage/kernels-webgpu/testing";
import { CharTokenizer, createConfig, initWeights } from "@sage/model";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PreferencePair, type Problem, Rng, runExperiment } from "../src/index.js";
import { tempDir } from "./helpers/data.js";

// WebGPU (lavapipe on a machine without a GPU); never skipped.
let ctx: GpuContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx?.destroy());

const tokenizer = new CharTokenizer("0123456789+=\\boxed{}");
const config = createConfig({
  modelType: "qwen2",
  hiddenSize: 16,
  intermediateSize: 32,
  numLayers: 1,
  numHeads: 2,
  numKvHeads: 1,
  vocabSize: tokenizer.vocabSize,
  tieWordEmbeddings: true,
  maxPositionEmbeddings: 40,
});

function pairs(n: number, seed: number): PreferencePair[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const a = rng.int(10);
    const b = rng.int(10);
    return {
      id: `q${i}`,
      prompt: `${a}+${b}=`,
      chosen: `\\boxed{${a + b}}`,
      rejected: `\\boxed{${(a + b + 1 + rng.int(8)) % 19}}`,
      difficulty: (a + b) / 18,
    };
  });
}

const problems: Problem[] = Array.from({ length: 6 }, (_, i) => ({
  id: `e${i}`,
  prompt: `${i}+${i % 3}=`,
  answer: String(i + (i % 3)),
  level: i < 3 ? 1 : 2,
}));

describe("runExperiment", () => {
  it("runs two methods from one start, with evaluation points, wall-clock, scoring time, frontier and SNR", async () => {
    const dir = await tempDir();
    const pool = pairs(32, 5);
    const seen: string[] = [];
    const result = await runExperiment({
      start: { config, weights: initWeights(config, 3), tokenizer },
      pairs: pool,
      methods: ["uniform", "sage"],
      seeds: [7],
      steps: 4,
      evalEvery: 2,
      evalProblems: problems,
      train: {
        batchSize: 4,
        gradientAccumulation: 2,
        gradSnrEvery: 1,
        beta: 0.5,
        learningRate: 0.01,
        scoringBatchSize: 16,
      },
      curriculum: { refreshEvery: 2, probeSize: 2, nStrata: 2 },
      runDir: dir,
      maxNewTokens: 6,
      ctx,
      log: () => {},
      onPoint: (run, p) => seen.push(`${run.method}:${p.step}`),
    });
    expect(result.strata).toEqual([1, 2]);
    expect(result.runs.map((r) => [r.method, r.seed])).toEqual([
      ["uniform", 7],
      ["sage", 7],
    ]);
    expect(seen).toEqual(["uniform:0", "uniform:2", "uniform:4", "sage:0", "sage:2", "sage:4"]);
    for (const run of result.runs) {
      expect(run.points.map((p) => p.step)).toEqual([0, 2, 4]);
      // every run starts from the same evaluated start policy
      expect(run.points[0]).toEqual(result.initial);
      let prevWall = -1;
      for (const p of run.points) {
        expect(p.accuracy).toBeGreaterThanOrEqual(0);
        expect(p.accuracy).toBeLessThanOrEqual(1);
        expect(p.byStratum).toHaveLength(2);
        // the overall pass@1 is the problem-weighted mean of the strata (3 problems each)
        expect(p.accuracy).toBeCloseTo((p.byStratum![0]! + p.byStratum![1]!) / 2, 12);
        expect(p.wallMs).toBeGreaterThan(prevWall);
        prevWall = p.wallMs;
        if (p.step > 0) {
          expect(p.scoringMs).toBeLessThanOrEqual(p.wallMs);
          expect(p.snr).toBeGreaterThan(0);
        }
      }
    }
    const [uniform, sage] = result.runs;
    // uniform never scores; sage scores its pool at refreshes and has a curriculum frontier
    expect(uniform!.points.at(-1)!.scoringMs).toBe(0);
    expect(sage!.points.at(-1)!.scoringMs).toBeGreaterThan(0);
    expect(typeof sage!.points.at(-1)!.frontier).toBe("number");
    for (const d of result.details) {
      expect(d.status).toBe("completed");
      expect(d.steps).toBe(4);
      expect(d.trainSeconds).toBeGreaterThan(0);
      expect(d.meanSnr).toBeGreaterThan(0);
      const metrics = await readFile(join(d.runDir, "metrics.jsonl"), "utf8");
      expect(metrics.split("\n").filter((l) => l.includes('"event":"eval"'))).toHaveLength(2);
    }
    expect(result.adapter.length).toBeGreaterThan(0);
  });

  it("runs labelled variants of one selector with their own configs as distinct series", async () => {
    const dir = await tempDir();
    const result = await runExperiment({
      start: { config, weights: initWeights(config, 3), tokenizer },
      pairs: pairs(32, 5),
      methods: [
        { label: "sage:R1", selector: "sage", curriculum: { refreshEvery: 1 } },
        {
          label: "sage:R4-K1",
          selector: "sage",
          curriculum: { refreshEvery: 4, stability: { k: 1, alpha: 0 } },
        },
      ],
      seeds: [7],
      steps: 4,
      evalEvery: 2,
      evalProblems: problems,
      train: { batchSize: 4, beta: 0.5, learningRate: 0.01, scoringBatchSize: 16 },
      curriculum: { refreshEvery: 2, probeSize: 2, nStrata: 2 },
      runDir: dir,
      maxNewTokens: 6,
      ctx,
      log: () => {},
    });
    expect(result.runs.map((r) => [r.method, r.seed])).toEqual([
      ["sage:R1", 7],
      ["sage:R4-K1", 7],
    ]);
    expect(result.details.map((d) => d.runDir)).toEqual([
      join(dir, "sage_R1-s7"),
      join(dir, "sage_R4-K1-s7"),
    ]);
    // the variants' configs reached the selector: R = 1 scores a pool at every one of the 4 steps;
    // R = 4 refreshes once (step 1) and never at steps 2–3 (R = 1 does)
    const scoredSteps = async (runDir: string) =>
      (await readFile(join(runDir, "metrics.jsonl"), "utf8"))
        .split("\n")
        .filter((l) => l.includes('"event":"train"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((r) => typeof r["time/scoring_s"] === "number" && (r["time/scoring_s"] as number) > 0)
        .map((r) => r.step);
    expect(await scoredSteps(result.details[0]!.runDir)).toEqual([1, 2, 3, 4]);
    const r4 = await scoredSteps(result.details[1]!.runDir);
    expect(r4).toContain(1);
    expect(r4).not.toContain(2);
    expect(r4).not.toContain(3);
  });

  it("rejects an empty method list, repeated seeds and evalEvery outside [1, steps]", async () => {
    const base = {
      start: { config, weights: initWeights(config, 3), tokenizer },
      pairs: pairs(8, 1),
      methods: ["uniform"] as const,
      seeds: [1],
      steps: 2,
      evalEvery: 1,
      evalProblems: problems,
      runDir: await tempDir(),
      ctx,
    };
    await expect(runExperiment({ ...base, methods: [] })).rejects.toThrow(/at least one method/);
    await expect(runExperiment({ ...base, seeds: [1, 1] })).rejects.toThrow(/must not repeat/);
    await expect(
      runExperiment({
        ...base,
        methods: ["sage", { label: "sage", selector: "sage", curriculum: { refreshEvery: 1 } }],
      }),
    ).rejects.toThrow(/labels\) and seeds must not repeat/);
    await expect(runExperiment({ ...base, methods: [{ label: "../x", selector: "sage" }] })).rejects.toThrow(
      /method labels must be non-empty/,
    );
    await expect(runExperiment({ ...base, evalEvery: 3 })).rejects.toThrow(
      /evalEvery must be an integer in \[1, steps = 2\]/,
    );
  });
});
