import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  BENCHMARK_NAMES,
  buildPrompt,
  type Generate,
  generateSynthetic,
  loadBenchmark,
  majorityCorrect,
  type Problem,
  passAtK,
  reportedKs,
  runBenchmark,
  type SampleRecord,
  summarize,
} from "../src/index.js";
import { dataDir } from "./helpers.js";

const tmp = mkdtempSync(path.join(tmpdir(), "eval-math-runner-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Exact pass@k by enumerating all k-subsets (reference for the product formula). */
function passAtKBrute(n: number, c: number, k: number): number {
  let total = 0;
  let hit = 0;
  const rec = (start: number, left: number, anyCorrect: boolean) => {
    if (left === 0) {
      total++;
      if (anyCorrect) hit++;
      return;
    }
    for (let i = start; i < n; i++) rec(i + 1, left - 1, anyCorrect || i < c);
  };
  rec(0, k, false);
  return hit / total;
}

describe("pass@k and maj@k", () => {
  it("unbiased pass@k matches subset enumeration", () => {
    for (const [n, c, k] of [
      [5, 0, 1],
      [5, 2, 1],
      [5, 2, 2],
      [5, 2, 3],
      [6, 5, 2],
      [8, 3, 4],
      [8, 8, 8],
      [7, 1, 7],
    ] as const) {
      expect(passAtK(n, c, k)).toBeCloseTo(passAtKBrute(n, c, k), 12);
    }
    expect(passAtK(10, 3, 1)).toBeCloseTo(0.3, 12);
    expect(() => passAtK(3, 4, 1)).toThrow(/passAtK/);
  });

  it("reported ks are powers of two up to n, plus n", () => {
    expect(reportedKs(1)).toEqual([1]);
    expect(reportedKs(8)).toEqual([1, 2, 4, 8]);
    expect(reportedKs(6)).toEqual([1, 2, 4, 6]);
  });

  it("majority vote clusters equivalent answers", () => {
    const s = (extracted: string | null, correct: boolean) => ({ extracted, correct });
    expect(
      majorityCorrect([s("0.5", true), s("\\frac12", true), s("3", false), s("3", false), s("1/2", true)]),
    ).toBe(true);
    expect(majorityCorrect([s("3", false), s("3.0", false), s("0.5", true)])).toBe(false);
    expect(majorityCorrect([s(null, false), s(null, false)])).toBe(false);
    // tie: first-seen cluster wins
    expect(majorityCorrect([s("1", true), s("2", false)])).toBe(true);
  });
});

/** A deterministic stub: answers correctly for even problem positions, wrongly for odd ones. */
function stubFor(problems: Problem[]): Generate {
  // several problems can share a question text, so answer per position in the prompt stream
  const queue = new Map<string, number[]>();
  problems.forEach((p, i) => {
    const key = buildPrompt(p);
    queue.set(key, [...(queue.get(key) ?? []), i]);
  });
  return async (prompts, opts) => {
    await new Promise((r) => setTimeout(r, 0));
    return prompts.map((prompt) => {
      const i = queue.get(prompt)!.shift()!;
      const p = problems[i]!;
      return Array.from({ length: opts.n }, (_, s) =>
        i % 2 === 0 && s !== 1
          ? `Work... so the answer is $\\boxed{${p.answer}}$.`
          : "I think it is \\boxed{\\text{no idea}}.",
      );
    });
  };
}

describe("runBenchmark", () => {
  const data = dataDir();

  it.each(BENCHMARK_NAMES.map((n) => [n]))(
    "%s: stub generate over the whole file, JSONL + summary",
    async (name) => {
      const problems = loadBenchmark(name, { dataDir: data });
      const outFile = path.join(tmp, `${name}.jsonl`);
      const { records, summary } = await runBenchmark({
        problems,
        generate: stubFor(problems),
        k: 2,
        batchSize: 64,
        concurrency: 4,
        outFile,
      });
      expect(records.length).toBe(problems.length * 2);
      const lines = readFileSync(outFile, "utf8").trim().split("\n");
      expect(lines.length).toBe(records.length);
      const first = JSON.parse(lines[0]!) as SampleRecord;
      expect(Object.keys(first)).toEqual(
        expect.arrayContaining(["prompt", "response", "extracted", "verdict", "correct", "reference"]),
      );
      // Even problems: sample 0 correct (reference answer boxed), sample 1 wrong → pass@1 = 1/2 · (#even / n).
      const even = Math.ceil(problems.length / 2);
      const evenSelf = records.filter((_r, j) => j % 2 === 0 && Math.floor(j / 2) % 2 === 0);
      // A reference answer graded against itself must be equal, whatever the set (parseable or not).
      expect(evenSelf.filter((r) => !r.correct).map((r) => r.reference)).toEqual([]);
      expect(summary.pass1).toBeCloseTo((0.5 * even) / problems.length, 10);
      expect(summary.passAtK["2"]).toBeCloseTo(even / problems.length, 10);
      expect(summary.k).toBe(2);
      const saved = JSON.parse(readFileSync(`${outFile}.summary.json`, "utf8")) as typeof summary;
      expect(saved.pass1).toBeCloseTo(summary.pass1, 12);
      if (name === "math500") {
        expect(Object.keys(summary.byLevel).sort()).toEqual(["1", "2", "3", "4", "5"]);
        expect(Object.keys(summary.bySubject)).toContain("Precalculus");
      }
      // no temp files left behind
      expect(readdirSync(tmp).filter((f) => f.includes(".tmp-"))).toEqual([]);
    },
  );

  it("reports progress and validates the generator's output shape", async () => {
    const problems = loadBenchmark("aime24", { dataDir: data, limit: 5 });
    const seen: number[] = [];
    await runBenchmark({
      problems,
      generate: stubFor(problems),
      batchSize: 2,
      onProgress: (d) => seen.push(d),
    });
    expect(seen).toEqual([2, 4, 5]);
    // the cli-progress bar (stderr) runs alongside without changing results
    const withBar = await runBenchmark({ problems, generate: stubFor(problems), progressBar: true });
    expect(withBar.records.length).toBe(5);
    const bad: Generate = async (prompts) => prompts.map(() => ["only one"]);
    await expect(runBenchmark({ problems, generate: bad, k: 2 })).rejects.toThrow(
      /must return 2 arrays of 2 strings|must return/,
    );
    const failing: Generate = async () => {
      throw new Error("model crashed");
    };
    await expect(runBenchmark({ problems, generate: failing })).rejects.toThrow(
      /generate failed on batch 1\/1: model crashed/,
    );
    await expect(runBenchmark({ problems, generate: failing, k: 0 })).rejects.toThrow(
      /k must be a positive integer/,
    );
  });

  it("runs synthetic problems too (they are Problems), grading the worked solutions as correct", async () => {
    const problems = generateSynthetic({ seed: 3, level: 2, count: 20 });
    const generate: Generate = async (prompts, o) =>
      prompts.map((pr) =>
        Array.from({ length: o.n }, () => problems.find((p) => pr.startsWith(p.question))!.solution),
      );
    const { summary } = await runBenchmark({ problems, generate, k: 1 });
    expect(summary.pass1).toBe(1);
    expect(Object.keys(summary.byLevel)).toEqual(["2"]);
  });

  it("summaries group by subject, level and benchmark; maj@k uses all samples", () => {
    const rec = (id: string, correct: boolean, extracted: string, level: number): SampleRecord => ({
      id,
      benchmark: "b",
      sample: 0,
      prompt: "",
      response: "",
      reference: "1",
      extracted,
      method: "boxed",
      verdict: correct ? "equal" : "not-equal",
      correct,
      reason: "",
      subject: "S",
      level,
    });
    const s = summarize([
      rec("a", true, "1", 1),
      rec("a", false, "2", 1),
      rec("a", false, "2", 1),
      rec("b", true, "1", 2),
      rec("b", true, "1", 2),
      rec("b", false, "3", 2),
    ]);
    expect(s.pass1).toBeCloseTo((1 / 3 + 2 / 3) / 2, 12);
    expect(s.majAtK).toBe(0.5);
    expect(s.passAtK["3"]).toBe(1);
    expect(s.byLevel["1"]!.pass1).toBeCloseTo(1 / 3, 12);
    expect(s.bySubject.S!.problems).toBe(2);
  });
});
