import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  buildOnPolicyPairs,
  evaluatePassAt1,
  type Problem,
  readProblems,
  TrainerError,
} from "../src/index.js";
import { tempDir } from "./helpers/data.js";

const problems: Problem[] = [
  { id: "easy", prompt: "2+2?", answer: "4", level: 1 },
  { id: "mid", prompt: "3+4?", answer: "7", level: 2 },
  { id: "never", prompt: "hard", answer: "42" },
  { id: "always", prompt: "1+0?", answer: "1" },
];

/** Sample j of prompt p: correct for `easy` when j < 3, for `mid` when j is even, never for `never`, always for `always`. */
const fakeSample = async (prompts: readonly string[], j: number) =>
  prompts.map((p) => {
    const pr = problems.find((x) => x.prompt === p)!;
    const right = pr.id === "always" || (pr.id === "easy" && j < 3) || (pr.id === "mid" && j % 2 === 0);
    return right ? `so \\boxed{${pr.answer}}` : `so \\boxed{${Number(pr.answer) + 1 + (j % 2)}}`;
  });

describe("buildOnPolicyPairs", () => {
  it("pairs correct with incorrect samples, records pass rates as difficulty, caps and seeds the draw", async () => {
    const r = await buildOnPolicyPairs({
      problems,
      sample: fakeSample,
      n: 4,
      maxPairsPerPrompt: 2,
      batchSize: 3,
    });
    expect(r.passRates).toEqual({ easy: 0.75, mid: 0.5, never: 0, always: 1 });
    expect(r.stats).toMatchObject({ problems: 4, samples: 16, withPairs: 2, allCorrect: 1, allWrong: 1 });
    expect(r.stats.meanPassRate).toBeCloseTo((0.75 + 0.5 + 0 + 1) / 4, 12);
    // easy: 1 distinct correct text × 1 distinct wrong text ("\boxed{6}" for j = 3) → 1 pair
    // mid: 1 correct text × 1 wrong text (j odd → "\boxed{9}") → 1 pair
    expect(r.pairs.map((p) => [p.id, p.difficulty, p.level])).toEqual([
      ["easy#0", 0.25, 1],
      ["mid#0", 0.5, 2],
    ]);
    for (const p of r.pairs) {
      expect(p.chosen).toContain(problems.find((x) => `${x.id}#0` === p.id)!.answer);
      expect(p.chosen).not.toBe(p.rejected);
    }
    const again = await buildOnPolicyPairs({
      problems,
      sample: fakeSample,
      n: 4,
      maxPairsPerPrompt: 2,
      batchSize: 1,
    });
    expect(again.pairs).toEqual(r.pairs); // batching does not change the result
  });

  it("draws at most maxPairsPerPrompt of the combinations, deterministically per seed", async () => {
    const many = async (prompts: readonly string[], j: number) =>
      prompts.map(() => (j < 3 ? `\\boxed{1}${" ".repeat(j)}` : `\\boxed{${j}}`));
    const one: Problem[] = [{ id: "p", prompt: "x", answer: "1" }];
    const a = await buildOnPolicyPairs({ problems: one, sample: many, n: 6, maxPairsPerPrompt: 4, seed: 1 });
    const b = await buildOnPolicyPairs({ problems: one, sample: many, n: 6, maxPairsPerPrompt: 4, seed: 1 });
    expect(a.pairs).toHaveLength(4); // 3 correct texts × 3 wrong texts = 9 combinations, 4 kept
    expect(b.pairs).toEqual(a.pairs);
    expect(new Set(a.pairs.map((p) => `${p.chosen}|${p.rejected}`)).size).toBe(4);
    await expect(buildOnPolicyPairs({ problems: one, sample: many, n: 1 })).rejects.toBeInstanceOf(
      TrainerError,
    );
    const bad = async () => ["only one"];
    await expect(buildOnPolicyPairs({ problems, sample: bad, n: 2 })).rejects.toMatchObject({
      code: "POLICY_INVALID",
    });
  });
});

describe("readProblems", () => {
  it("reads id/prompt|question/answer/level and names file, line and field on errors", async () => {
    const dir = await tempDir();
    const ok = join(dir, "problems.jsonl");
    await writeFile(
      ok,
      `${JSON.stringify({ id: 1, question: "q?", answer: 3, level: 2 })}\n\n${JSON.stringify({ id: "b", prompt: "p", answer: "x" })}\n`,
    );
    expect(await readProblems(ok)).toEqual([
      { id: "1", prompt: "q?", answer: "3", level: 2 },
      { id: "b", prompt: "p", answer: "x" },
    ]);
    const bad = join(dir, "bad.jsonl");
    await writeFile(
      bad,
      `${JSON.stringify({ id: 1, prompt: "q", answer: "1" })}\n${JSON.stringify({ id: 2, prompt: "q" })}\n`,
    );
    await expect(readProblems(bad)).rejects.toThrow(/bad\.jsonl:2: field "answer"/);
    const noPrompt = join(dir, "np.jsonl");
    await writeFile(noPrompt, JSON.stringify({ id: 1, answer: "1" }));
    await expect(readProblems(noPrompt)).rejects.toThrow(/np\.jsonl:1: field "prompt"/);
  });
});

describe("evaluatePassAt1", () => {
  it("grades one sample per problem, overall and by level", async () => {
    // sample 0: easy right (j < 3), mid right (j even), never wrong, always right → 3 of 4
    const r = await evaluatePassAt1(problems, fakeSample, { batchSize: 3 });
    expect(r).toEqual({
      "eval/pass@1": 0.75,
      "eval/problems": 4,
      "eval/samples": 1,
      "eval/pass@1/level_1": 1,
      "eval/pass@1/level_2": 1,
    });
    await expect(evaluatePassAt1([], fakeSample)).rejects.toMatchObject({ code: "DATA_EMPTY" });
  });

  it("averages k samples per problem (sample indices 0..k−1) into the pass@1 estimate", async () => {
    // k = 4: easy 3/4, mid 2/4, never 0/4, always 4/4 → 9/16; only easy (1) and mid (2) have a level
    const seen: number[] = [];
    const r = await evaluatePassAt1(
      problems,
      async (prompts, j) => {
        seen.push(j);
        return fakeSample(prompts, j);
      },
      { batchSize: 3, samples: 4 },
    );
    expect(r["eval/pass@1"]).toBe(9 / 16);
    expect(r["eval/samples"]).toBe(4);
    expect(r["eval/pass@1/level_1"]).toBe(3 / 4);
    expect(r["eval/pass@1/level_2"]).toBe(2 / 4);
    expect(seen).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
    await expect(evaluatePassAt1(problems, fakeSample, { samples: 0 })).rejects.toMatchObject({
      code: "CONFIG_INVALID",
    });
  });
});
