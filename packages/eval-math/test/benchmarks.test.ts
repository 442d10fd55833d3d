import { describe, expect, it } from "vitest";
import {
  BENCHMARK_NAMES,
  buildPrompt,
  COT_INSTRUCTION,
  EvalMathError,
  loadBenchmark,
  parseAnswer,
} from "../src/index.js";
import { dataDir } from "./helpers.js";

const EXPECTED_ROWS: Record<string, number> = {
  math500: 500,
  aime24: 30,
  amc23: 40,
  minerva_math: 272,
  olympiadbench: 675,
  gaokao2023en: 383, // 385 rows, 2 with an empty reference answer are dropped
  college_math: 2818,
  gsm8k: 1319,
};

describe("benchmark loaders", () => {
  const data = dataDir();

  it.each(BENCHMARK_NAMES.map((n) => [n]))("%s: row count, non-empty fields, unique ids", (name) => {
    const ps = loadBenchmark(name, { dataDir: data });
    expect(ps.length).toBe(EXPECTED_ROWS[name]);
    for (const p of ps) {
      expect(p.benchmark).toBe(name);
      expect(p.question.length).toBeGreaterThan(5);
      expect(typeof p.answer).toBe("string");
    }
    expect(new Set(ps.map((p) => p.id)).size).toBe(ps.length);
  });

  it("picks the right fields per set", () => {
    const m = loadBenchmark("math500", { dataDir: data, limit: 1 })[0]!;
    expect(m).toMatchObject({
      answer: "\\left( 3, \\frac{\\pi}{2} \\right)",
      subject: "Precalculus",
      level: 2,
    });
    expect(m.id).toBe("math500/test/precalculus/807.json");
    expect(loadBenchmark("amc23", { dataDir: data, limit: 1 })[0]!.answer).toBe("27"); // 27.0 in the file
    expect(loadBenchmark("aime24", { dataDir: data, limit: 1 })[0]!.answer).toBe("204");
    expect(loadBenchmark("gsm8k", { dataDir: data, limit: 3 }).map((p) => p.answer)).toEqual([
      "18",
      "3",
      "70000",
    ]);
    expect(loadBenchmark("minerva_math", { dataDir: data, limit: 1 })[0]).toMatchObject({ answer: "1.6" });
    const ob = loadBenchmark("olympiadbench", { dataDir: data, limit: 2 });
    expect(ob.map((p) => p.answer)).toEqual(["2", "\\frac{1}{2 n+2}"]);
    expect(ob[0]!.subject).toBe("Combinatorics");
    const cm = loadBenchmark("college_math", { dataDir: data, limit: 1 })[0]!;
    expect(cm).toMatchObject({ answer: "10-4 n", subject: "algebra" });
    expect(loadBenchmark("gaokao2023en", { dataDir: data, limit: 1 })[0]!.answer).toBe(
      "\\{x|-2\\leq x < 1\\}",
    );
  });

  it("rows with an empty reference answer are dropped unless asked for", () => {
    expect(loadBenchmark("gaokao2023en", { dataDir: data, keepEmptyAnswers: true }).length).toBe(385);
  });

  it("reference answers of the competition sets all parse (math500, aime24, amc23, gsm8k)", () => {
    for (const name of ["math500", "aime24", "amc23", "gsm8k"]) {
      const bad = loadBenchmark(name, { dataDir: data }).filter((p) => parseAnswer(p.answer) === null);
      expect(bad.map((p) => p.answer)).toEqual([]);
    }
  });

  it("typed errors for unknown names and missing folders", () => {
    expect(() => loadBenchmark("mmlu", { dataDir: data })).toThrow(EvalMathError);
    expect(() => loadBenchmark("mmlu", { dataDir: data })).toThrow(/unknown benchmark "mmlu"/);
    expect(() => loadBenchmark("math500", { dataDir: "/nonexistent-dir" })).toThrow(/not found/);
  });

  it("the CoT prompt asks for \\boxed{} and templates must contain {question}", () => {
    const p = buildPrompt({ question: "What is 1+1?" });
    expect(p).toBe(`What is 1+1?\n\n${COT_INSTRUCTION}`);
    expect(p).toContain("\\boxed{}");
    expect(buildPrompt({ question: "Q" }, "<q>{question}</q>")).toBe("<q>Q</q>");
    expect(() => buildPrompt({ question: "Q" }, "no placeholder")).toThrow(/\{question\}/);
  });
});
