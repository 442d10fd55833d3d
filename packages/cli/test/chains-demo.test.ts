import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseChainsQuestion } from "@sage/eval-math";
import { loadModelDir } from "@sage/model";
import { readPreferencePairs, workCheckedGrade } from "@sage/trainer";
import { describe, expect, it } from "vitest";
import { demoPlan, shippedModelDir } from "../src/commands/demo.js";
import { run } from "./helpers.js";

// `sage demo --task chains` on the shipped `assets/sft-chains` start policy. Runs on the WebGPU
// adapter Dawn finds (lavapipe on a machine without a GPU); never skipped.

describe("sage demo --task chains", () => {
  it("ships the chains start policy next to sft-tiny, with the same architecture and tokenizer", () => {
    const chains = loadModelDir(shippedModelDir("sft-chains"));
    const tiny = loadModelDir(shippedModelDir("sft-tiny"));
    expect(chains.config).toEqual(tiny.config);
    expect(chains.tokenizer?.vocabSize).toBe(tiny.tokenizer?.vocabSize);
    // fine-tuned: not the same weights
    expect(Array.from(chains.weights.embed)).not.toEqual(Array.from(tiny.weights.embed));
  });

  it("plans by task; an unknown task is a usage error", async () => {
    expect(demoPlan({ task: "chains" })).toMatchObject({ task: "chains", levels: [1, 2, 3, 4, 5] });
    expect(demoPlan({}).task).toBe("synthetic");
    const bad = await run(["demo", "--task", "algebra", "--no-progress"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--task must be one of synthetic, chains; received "algebra"');
  });

  it("runs end to end on a micro plan: work-checked chain pairs, strata k = 1..5, the report", async () => {
    const out = join(await mkdtemp(join(tmpdir(), "sage-chains-demo-")), "report");
    const r = await run([
      "demo",
      "--task",
      "chains",
      "--out",
      out,
      "--problems",
      "4",
      "--eval-problems",
      "1",
      "--samples",
      "4",
      "--steps",
      "2",
      "--eval-every",
      "1",
      "--no-progress",
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain("start policy: shipped checkpoint assets/sft-chains");
    expect(r.err).toMatch(/pairs: \d+ from \d+ of 20 problems/);
    const { pairs } = await readPreferencePairs(join(out, "pairs.jsonl"));
    expect(pairs.length).toBeGreaterThan(0);
    for (const p of pairs) {
      expect(parseChainsQuestion(p.prompt)?.chain).toHaveLength(p.level!);
      // chosen answers are right with their work; rejected ones are not
      const answer = /\\boxed\{(-?\d+)\}\s*$/.exec(p.chosen)?.[1];
      expect(answer, p.id).toBeDefined();
      expect(workCheckedGrade(p.chosen, answer!, p)).toBe(true);
      expect(workCheckedGrade(p.rejected, answer!, p)).toBe(false);
    }
    const report = JSON.parse(await readFile(join(out, "report.json"), "utf8")) as {
      config: { strata: string[]; command: string };
    };
    expect(report.config.strata).toEqual(["k = 1", "k = 2", "k = 3", "k = 4", "k = 5"]);
    expect(report.config.command).toBe("sage demo --task chains");
  });
});
