import {
  type ChainsProblem,
  generateChains,
  generateSynthetic,
  seededRandom,
  teacherSolution,
  verifySynthetic,
} from "@sage/eval-math";
import { describe, expect, it } from "vitest";
import { buildOnPolicyPairs, evaluatePassAt1, type Problem, workCheckedGrade } from "../src/pairs.js";

const prompt = (question: string) => `q: ${question}\na: `;
const asProblem = (p: ChainsProblem): Problem => ({
  id: p.id,
  prompt: prompt(p.question),
  answer: p.answer,
  level: p.level,
});
/** The grader of the demo before chains: answer right and every `a op b=c` line arithmetically right. */
const arithmeticOnly = (response: string, answer: string) => {
  const v = verifySynthetic({ answer }, response);
  return v.correct && v.stepsValid;
};
/** A right answer reached through wrong work: the teacher's (wrong) work with the true answer boxed. */
const lucky = (text: string, answer: string) => text.replace(/\\boxed\{[^}]*\}$/, `\\boxed{${answer}}`);

// ann has 3 pens, gets 4 more, gives away 2 → 3+4=7, 7-2=5
const q = "ann has 3 pens. ann gets 4 more. ann gives away 2. how many pens does ann have?";

describe("workCheckedGrade on chains", () => {
  it("correct work and answer → correct; a wrong step with the right answer or a wrong answer → not", () => {
    const p = { prompt: prompt(q) };
    expect(workCheckedGrade("3+4=7\n7-2=5\n\\boxed{5}", "5", p)).toBe(true);
    expect(workCheckedGrade("3+4=8\n8-2=6\n\\boxed{6}", "5", p)).toBe(false); // wrong answer
    expect(workCheckedGrade("3+4=8\n8-2=5\n\\boxed{5}", "5", p)).toBe(false); // false arithmetic
    // a miscopied intermediate: every line is true arithmetic, so only the chain check catches it
    expect(arithmeticOnly("3+4=7\n6-1=5\n\\boxed{5}", "5")).toBe(true);
    expect(workCheckedGrade("3+4=7\n6-1=5\n\\boxed{5}", "5", p)).toBe(false);
    // a swapped operator compensated by a wrong operand
    expect(workCheckedGrade("3+4=7\n7+2=9\n9-4=5\n\\boxed{5}", "5", p)).toBe(false);
    expect(workCheckedGrade("\\boxed{5}", "5", p)).toBe(false); // no work
  });

  it("agrees with the noisy teacher's own record, and a lucky answer is never correct", () => {
    const rng = seededRandom(5);
    let luckyTried = 0;
    for (const k of [1, 2, 3, 4, 5, 6]) {
      for (const c of generateChains({ seed: 60 + k, steps: k, count: 200 })) {
        const t = teacherSolution(c, { stepErrorRate: 0.3, rng });
        const p = asProblem(c);
        expect(workCheckedGrade(t.text, c.answer, p)).toBe(t.correct);
        if (!t.correct) {
          luckyTried++;
          expect(workCheckedGrade(lucky(t.text, c.answer), c.answer, p)).toBe(false);
        }
      }
    }
    expect(luckyTried).toBeGreaterThan(500);
  });
});

describe("workCheckedGrade keeps the synthetic families working", () => {
  it.each([1, 2, 3, 4, 5] as const)(
    "level %i: reference → correct; a wrong step or answer → not",
    (level) => {
      for (const s of generateSynthetic({ seed: 9, level, count: 60 })) {
        const p = { prompt: prompt(s.question) };
        expect(workCheckedGrade(s.solution, s.answer, p)).toBe(true);
        expect(workCheckedGrade(s.solution, s.answer)).toBe(true); // without the problem: arithmetic check
        // corrupt the result of the first step but keep the boxed answer
        const bad = s.solution.replace(
          /=(\d+)(\n|$)/,
          (_m, n: string, end: string) => `=${Number(n) + 1}${end}`,
        );
        expect(bad).not.toBe(s.solution);
        expect(workCheckedGrade(bad, s.answer, p)).toBe(false);
        expect(workCheckedGrade(s.solution.replace(/\\boxed\{.*\}$/, "\\boxed{-999}"), s.answer, p)).toBe(
          false,
        );
      }
    },
  );
});

describe("buildOnPolicyPairs and evaluatePassAt1 with the work-checking grader", () => {
  const chains = [2, 3].flatMap((k) => generateChains({ seed: 1, steps: k, count: 6 }));
  const problems = chains.map(asProblem);
  const byPrompt = new Map(chains.map((c) => [prompt(c.question), c]));
  // sample 0: the reference; 1: a wrong step with the right answer boxed; 2: a wrong answer
  const sample = async (prompts: readonly string[], j: number) =>
    prompts.map((pr) => {
      const c = byPrompt.get(pr)!;
      const wrong = teacherSolution(c, { stepErrorRate: 1, rng: seededRandom(j) }).text;
      return j === 0 ? c.solution : j === 1 ? lucky(wrong, c.answer) : wrong;
    });

  it("a lucky answer with a wrong step is a rejected answer, never a chosen one", async () => {
    const r = await buildOnPolicyPairs({
      problems,
      sample,
      n: 3,
      grade: workCheckedGrade,
      maxPairsPerPrompt: 4,
    });
    expect(Object.values(r.passRates)).toEqual(problems.map(() => 1 / 3));
    expect(r.pairs).toHaveLength(2 * problems.length);
    for (const pair of r.pairs) {
      const c = byPrompt.get(pair.prompt)!;
      expect(pair.chosen).toBe(c.solution);
      expect(pair.rejected).not.toBe(c.solution);
    }
    expect(
      r.pairs.some((pair) => pair.rejected.endsWith(`\\boxed{${byPrompt.get(pair.prompt)!.answer}}`)),
    ).toBe(true);
    // answer-only grading would count the lucky sample as correct (2 of 3)
    const answerOnly = await buildOnPolicyPairs({ problems, sample, n: 3 });
    expect(Object.values(answerOnly.passRates)).toEqual(problems.map(() => 2 / 3));
  });

  it("graders receive the problem; pass@1 is reported per chain length", async () => {
    const seen: string[] = [];
    const r = await evaluatePassAt1(problems, sample, {
      samples: 3,
      grade: (response, answer, problem) => {
        seen.push(problem.id);
        return workCheckedGrade(response, answer, problem);
      },
    });
    expect(new Set(seen)).toEqual(new Set(problems.map((p) => p.id)));
    expect(r).toMatchObject({ "eval/pass@1/level_2": 1 / 3, "eval/pass@1/level_3": 1 / 3 });
  });
});
