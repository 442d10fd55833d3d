import { createHash } from "node:crypto";
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
    expect(demoPlan({}).task).toBe("chains");
    expect(demoPlan({ task: "synthetic" }).task).toBe("synthetic");
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

  it("--from-scratch re-makes sft-chains from sft-tiny on the README's exact data (1 step here)", async () => {
    const out = join(await mkdtemp(join(tmpdir(), "sage-chains-scratch-")), "report");
    const r = await run([
      "demo",
      "--task",
      "chains",
      "--from-scratch",
      "--sft-steps",
      "1",
      "--out",
      out,
      "--problems",
      "1",
      "--eval-problems",
      "1",
      "--samples",
      "2",
      "--steps",
      "1",
      "--no-progress",
    ]);
    expect(r.err).toContain("SFT from sft-tiny (sft-chains recipe): 110208 parameters, 1 stage of 1 steps");
    const data = await readFile(join(out, "start", "sft-1.jsonl"));
    // the hash in packages/cli/assets/sft-chains/README.md
    expect(createHash("sha256").update(data).digest("hex")).toBe(
      "39fdef93abfc040b81c8a259a22b8b22065731172c34ca2537e3ba682ba1560d",
    );
    const model = loadModelDir(join(out, "start", "model"));
    const tiny = loadModelDir(shippedModelDir("sft-tiny"));
    expect(model.config).toEqual(tiny.config);
    expect(Array.from(model.weights.embed)).not.toEqual(Array.from(tiny.weights.embed));
    // 5 pool problems × 2 samples may give fewer pairs than a batch: then the demo says so (exit 2)
    if (r.code !== 0) expect(r.err).toMatch(/only \d+ on-policy pairs/);
  });
});
