import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { GpuContext } from "@sage/kernels-webgpu";
import { createTestContext } from "@sage/kernels-webgpu/testing";
import { initWeights, loadModelDir } from "@sage/model";
import { BOXED_CHARS, tinyCharModel } from "@sage/model/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Grader,
  greedyCheck,
  type PreferencePair,
  type Problem,
  readComparisonResults,
  runComparison,
  TrainerError,
  webGpuComparisonPolicies,
} from "../src/index.js";
import { boxedSumPairs, tempDir } from "./helpers/data.js";

// WebGPU (lavapipe on a machine without a GPU); never skipped.
describe("greedyCheck", () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx?.destroy());

  const { tokenizer, config } = tinyCharModel({ chars: BOXED_CHARS, maxPositionEmbeddings: 40 });
  const start = { config, weights: initWeights(config, 3), tokenizer };
  const pairs: PreferencePair[] = boxedSumPairs();
  const problems = (prefix: string): Problem[] =>
    Array.from({ length: 6 }, (_, i) => ({
      id: `${prefix}${i}`,
      prompt: `${i}+${prefix === "t" ? i + 1 : i}=`,
      answer: String(2 * i),
      level: i < 3 ? 1 : 2,
    }));
  const heldOut = { tuning: problems("t"), reported: problems("e"), maxNewTokens: 6 };
  // A random tiny model answers nothing right, so grade on what the answer is: each (problem,
  // response) is recorded, and "correct" is a property of the text (even length).
  const seen: string[] = [];
  const grade: Grader = (response, _answer, problem) => {
    seen.push(`${problem.id}:${response}`);
    return response.length % 2 === 0;
  };

  async function study(): Promise<string> {
    const dir = await tempDir();
    const gpu = webGpuComparisonPolicies({ model: start, ctx, maxNewTokens: 6 });
    for (const [arm, seeds, probs] of [
      ["tuning", [100], heldOut.tuning],
      ["reported", [1, 2], heldOut.reported],
    ] as const) {
      await runComparison({
        pairs,
        problems: probs,
        ...gpu,
        methods: arm === "tuning" ? ["uniform"] : ["uniform", "sage", "sft-chosen"],
        seeds,
        steps: 3,
        batchSize: 4,
        evalSteps: [3],
        // a large step so the checkpoints' greedy answers differ from the start policy's
        train: { beta: 0.5, learningRate: 0.05, scoringBatchSize: 16 },
        curriculum: { refreshEvery: 1, nStrata: 2 },
        runDir: join(dir, arm),
        log: () => {},
      });
    }
    return dir;
  }

  /** Greedy pass@1 and answers of one model on `probs`, computed directly. */
  async function direct(model: typeof start, probs: readonly Problem[]) {
    const got: string[] = [];
    const gpu = webGpuComparisonPolicies({
      model,
      ctx,
      maxNewTokens: 6,
      grade: (r, _answer, problem) => {
        got.push(`${problem.id}:${r}`);
        return r.length % 2 === 0;
      },
    });
    const h = await gpu.startPolicy({ purpose: "run" });
    const record = await gpu.evaluate(h.policy, probs, { seed: 0, step: 0, method: null });
    await h.destroy?.();
    return { passAt1: record["eval/pass@1"]!, answers: got };
  }

  it("scores the start policy and every run's final checkpoint greedily (the SFT control's too), on its arm's split", async () => {
    const dir = await study();
    const stored = await readComparisonResults(join(dir, "reported"));
    expect(stored.map((r) => `${r.folder}:${r.kind}:${r.steps}`)).toEqual([
      "sage-s1:dpo:3",
      "sage-s2:dpo:3",
      "sft-chosen-s1:sft-chosen:3",
      "sft-chosen-s2:sft-chosen:3",
      "uniform-s1:dpo:3",
      "uniform-s2:dpo:3",
    ]);
    expect(await readComparisonResults(join(dir, "noise"))).toEqual([]);

    seen.length = 0;
    const check = await greedyCheck({ heldOut: { ...heldOut, grade }, model: start, ctx, runDir: dir });
    expect(check.problems).toEqual({ tuning: 6, reported: 6, noise: 6 });
    expect(check.runs.map((r) => `${r.arm}/${r.method}/${r.seed}@${r.step}`)).toEqual([
      "tuning/uniform/100@3",
      "reported/sage/1@3",
      "reported/sage/2@3",
      "reported/sft-chosen/1@3",
      "reported/sft-chosen/2@3",
      "reported/uniform/1@3",
      "reported/uniform/2@3",
    ]);
    expect(check.skipped).toEqual([]);
    // 2 start evaluations + 7 checkpoints, one greedy answer per problem each
    expect(seen).toHaveLength(9 * 6);

    // the start policy's scores are those of a direct greedy evaluation of it on each split
    const startReported = await direct(start, heldOut.reported);
    expect(check.start.reported.passAt1).toBe(startReported.passAt1);
    expect(check.start.tuning.passAt1).toBe((await direct(start, heldOut.tuning)).passAt1);
    expect(Object.keys(check.start.reported.byLevel)).toEqual(["1", "2"]);

    // greedyCheck's answers, one block of 6 per evaluation in its order: start (tuning, reported), then runs
    const block = (k: number) => seen.slice(6 * k, 6 * k + 6);
    expect(block(1)).toEqual(startReported.answers);
    // each run is scored on its own final checkpoint (loaded directly) and its arm's split, not the start policy
    let differs = 0;
    for (const [i, run] of check.runs.entries()) {
      const folder = join(dir, run.arm, `${run.method}-s${run.seed}`, "checkpoints", "step-00000003");
      const loaded = loadModelDir(join(folder, "policy", "model"));
      const d = await direct(
        { ...loaded, tokenizer },
        run.arm === "tuning" ? heldOut.tuning : heldOut.reported,
      );
      expect(block(2 + i)).toEqual(d.answers);
      expect(run.passAt1).toBe(d.passAt1);
      if (d.answers.join("\n") !== startReported.answers.join("\n")) differs++;
    }
    expect(differs).toBeGreaterThan(0);
  });

  it("skips a run whose newest checkpoint is not its last step and refuses a changed checkpoint", async () => {
    const dir = await study();
    // a run cut short: its results say 3 steps, its newest checkpoint says otherwise
    const latest = join(dir, "reported", "uniform-s1", "checkpoints", "step-00000003", "manifest.json");
    const manifest = JSON.parse(await readFile(latest, "utf8")) as { step: number };
    await writeFile(latest, JSON.stringify({ ...manifest, step: 2 }));
    await rm(join(dir, "reported", "sage-s2", "checkpoints"), { recursive: true });
    // an SFT-on-chosen run written before the runner kept its policy
    await rm(join(dir, "reported", "sft-chosen-s1"), { recursive: true });
    const check = await greedyCheck({ heldOut, model: start, ctx, runDir: dir });
    expect(check.skipped).toEqual([
      {
        arm: "reported",
        method: "sage",
        seed: 2,
        reason: "no checkpoint in its run folder",
      },
      {
        arm: "reported",
        method: "sft-chosen",
        seed: 1,
        reason:
          "no checkpoint in its run folder (the runner kept none for sft-chosen runs before greedyCheck existed)",
      },
      {
        arm: "reported",
        method: "uniform",
        seed: 1,
        reason: "its newest checkpoint is step 2, not the last step 3",
      },
    ]);
    // a weight file changed after the run: the hash check refuses it
    const weights = join(
      dir,
      "reported",
      "uniform-s2",
      "checkpoints",
      "step-00000003",
      "policy",
      "model",
      "model.safetensors",
    );
    const bytes = await readFile(weights);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1);
    await writeFile(weights, bytes);
    await expect(greedyCheck({ heldOut, model: start, ctx, runDir: dir })).rejects.toThrow(TrainerError);
    await expect(greedyCheck({ heldOut, model: start, ctx, runDir: dir })).rejects.toThrow(/uniform-s2/);
  });

  it("a result file that is not one is a typed error naming it", async () => {
    const dir = await tempDir();
    const { mkdir } = await import("node:fs/promises");
    await mkdir(join(dir, "results"), { recursive: true });
    await writeFile(join(dir, "results", "uniform-s1.json"), "{not json");
    await expect(readComparisonResults(dir)).rejects.toThrow(/uniform-s1\.json: expected a JSON result file/);
  });
});
