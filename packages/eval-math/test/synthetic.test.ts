import { describe, expect, it } from "vitest";
import {
  checkArithmeticSteps,
  generateSynthetic,
  isEquivalent,
  SYNTHETIC_CHARSET,
  type SyntheticProblem,
  verifySynthetic,
} from "../src/index.js";

const LEVELS = [1, 2, 3, 4, 5] as const;
const N = 300;

function stats(ps: SyntheticProblem[]) {
  const mean = (f: (p: SyntheticProblem) => number) => ps.reduce((s, p) => s + f(p), 0) / ps.length;
  const numbers = (p: SyntheticProblem) => (p.question.match(/\d+/g) ?? []).map(Number);
  return {
    steps: mean((p) => p.steps),
    solutionLength: mean((p) => p.solution.length),
    maxNumber: mean((p) => Math.max(...numbers(p))),
    sentences: mean((p) => p.question.split(". ").length),
    opKinds: new Set(ps.flatMap((p) => p.solution.match(/[+\-*/]/g) ?? [])).size,
    algebra: ps.filter((p) => p.kind === "algebra").length / ps.length,
  };
}

describe("synthetic reasoning tasks", () => {
  it("is deterministic per seed and differs across seeds", () => {
    const a = generateSynthetic({ seed: 7, level: 3, count: 50 });
    expect(generateSynthetic({ seed: 7, level: 3, count: 50 })).toEqual(a);
    expect(generateSynthetic({ seed: 8, level: 3, count: 50 })).not.toEqual(a);
    // a prefix of a longer run is the shorter run
    expect(generateSynthetic({ seed: 7, level: 3, count: 10 })).toEqual(a.slice(0, 10));
  });

  it.each(LEVELS.map((l) => [l]))(
    "level %i: vocabulary, length bounds, boxed answers, correct steps",
    (level) => {
      const ps = generateSynthetic({ seed: 123, level, count: N });
      const allowed = new Set(SYNTHETIC_CHARSET);
      const outside = new Set(
        ps.flatMap((p) => [...(p.question + p.solution)].filter((ch) => !allowed.has(ch))),
      );
      expect([...outside]).toEqual([]);
      for (const p of ps) {
        expect(p.solution.endsWith(`\\boxed{${p.answer}}`)).toBe(true);
        expect(Number.isInteger(Number(p.answer))).toBe(true);
        expect(checkArithmeticSteps(p.solution)).toMatchObject({ valid: true });
        expect(verifySynthetic(p, p.solution)).toEqual({
          correct: true,
          extracted: p.answer,
          stepsValid: true,
        });
        // the general grader agrees with the exact verifier on the reference solution
        expect(isEquivalent(p.answer, p.answer).verdict).toBe("equal");
        if (level === 1) expect(p.question.length + p.solution.length).toBeLessThanOrEqual(100);
        expect(p.solution.length).toBeLessThanOrEqual(level === 1 ? 30 : 140);
      }
    },
  );

  it("the difficulty knob increases steps, operand size, operator mix and distractors", () => {
    const s = LEVELS.map((level) => stats(generateSynthetic({ seed: 5, level, count: N })));
    for (let i = 1; i < s.length; i++) {
      expect(s[i]!.maxNumber).toBeGreaterThan(s[i - 1]!.maxNumber);
      expect(s[i]!.solutionLength).toBeGreaterThan(s[i - 1]!.solutionLength);
    }
    expect(s[0]!.steps).toBe(1);
    expect(s[4]!.steps).toBeGreaterThan(s[1]!.steps);
    expect(s[0]!.opKinds).toBe(2); // + and - only
    expect(s[3]!.opKinds).toBe(4);
    expect(s[0]!.algebra).toBe(0);
    expect(s[4]!.algebra).toBeGreaterThan(0.15);
    expect(s[4]!.sentences).toBeGreaterThan(s[2]!.sentences);
  });

  it("the verifier is exact", () => {
    const p = { answer: "37" };
    expect(verifySynthetic(p, "20+17=37\n\\boxed{37}").correct).toBe(true);
    expect(verifySynthetic(p, "\\boxed{37.0}").correct).toBe(false); // exact integer form required
    expect(verifySynthetic(p, "\\boxed{36}").correct).toBe(false);
    expect(verifySynthetic(p, "\\boxed{37} no wait \\boxed{38}").correct).toBe(false); // last box counts
    expect(verifySynthetic(p, "37").correct).toBe(false); // a box is required
    expect(verifySynthetic(p, "20+17=36\n\\boxed{37}")).toEqual({
      correct: true,
      extracted: "37",
      stepsValid: false,
    });
    expect(
      verifySynthetic({ answer: "123456789012345678901" }, "\\boxed{123456789012345678901}").correct,
    ).toBe(true);
  });

  it("checkArithmeticSteps checks chained equalities", () => {
    expect(checkArithmeticSteps("6x=64-22=42\nx=42/6=7")).toEqual({ valid: true, checked: 2 });
    expect(checkArithmeticSteps("6x=64-22=41")).toMatchObject({ valid: false });
    expect(checkArithmeticSteps("no steps here")).toEqual({ valid: false, checked: 0 });
  });

  it("rejects bad options with typed errors", () => {
    expect(() => generateSynthetic({ seed: 1, level: 6 as 5, count: 1 })).toThrow(/level must be 1..5/);
    expect(() => generateSynthetic({ seed: 1, level: 1, count: -1 })).toThrow(/count/);
    expect(() => generateSynthetic({ seed: 0.5, level: 1, count: 1 })).toThrow(/seed/);
  });
});
