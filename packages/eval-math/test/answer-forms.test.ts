import { describe, expect, it } from "vitest";
import {
  EvalMathError,
  extractAnswer,
  gradeResponse,
  gsm8kReference,
  isEquivalent,
  lastLineBoxed,
  loadBenchmark,
} from "../src/index.js";
import { dataDir } from "./helpers.js";

// Answer forms other graders handle. The responses are written in the styles of the benchmarks'
// reference solutions and of the real model outputs in ../shared/data/model-outputs (boxed
// endings, "The final answer is", Minerva's "I hope it is correct", GSM8K's "####" / "A:" lines,
// prose endings with inline math).

type Row = readonly [response: string, reference: string, correct: boolean];

function check(rows: readonly Row[]) {
  for (const [response, reference, correct] of rows) {
    const g = gradeResponse(response, reference);
    expect(
      g.correct,
      `${JSON.stringify(response)} vs ${JSON.stringify(reference)}: got ${JSON.stringify(g.extracted)} (${g.method}) — ${g.reason}`,
    ).toBe(correct);
  }
}

describe("extraction: the last answer statement wins by position", () => {
  it.each([
    [
      "We first try \\boxed{255}, but that misses a term.\n\nThe final answer is $10,455$.",
      "10,455",
      "final-answer",
    ],
    ["The answer is 3. Checking again, we get \\boxed{4}", "4", "boxed"],
    ["\\boxed{4} is wrong; so the answer is 3.", "3", "answer-is"],
    [
      "Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.",
      "\\frac{3}{4}",
      "final-answer",
    ],
    ["Final Answer: The largest $n$ is 34.", "34", "final-answer"],
    ["Natalia sold 48/2 = 24 clips in May.\nA: 72", "72", "short-answer"],
    ["She makes 9 * 2 = $18 every day.\n#### 18", "18", "gsm8k"],
    ["#### Step 1: add\n2 + 3 = 5\n#### 5", "5", "gsm8k"],
    ["Therefore, the answer is:\n\\[\n\\boxed{6}\n\\]", "6", "boxed"],
    ["\\boxed{17}\\pmod{83}. We check: our answer is correct.", "17", "boxed"],
    ["The answer is therefore $5$.", "5", "answer-is"],
    ["The answer is \\(x\\) equals \\(\\frac12\\).", "\\frac12", "answer-is"],
    ["The answer is 1.8 billion.", "1.8 billion", "answer-is"],
    ["The answer is $18. She paid $5 for it.", "$18", "answer-is"],
  ])("%j → %j (%s)", (text, answer, method) => {
    expect(extractAnswer(text)).toEqual({ answer, method });
  });

  it("a markdown heading after `####` and degenerate `######` are not answers", () => {
    expect(extractAnswer("\\boxed{25}\n######\n]]);garbage")?.answer).toBe("25");
    expect(extractAnswer("#### Step 2: Compute the area")?.method).not.toBe("gsm8k");
  });

  it("'A:' starting a worked answer is not a short answer", () => {
    expect(extractAnswer("A: She has 5 apples.\nThen 3 more make 8.")).toEqual({
      answer: "8",
      method: "last-number",
    });
  });
});

describe("extraction: the last inline-math span before the last-number fallback", () => {
  it.each([
    ["So the intersection point is $(7, 6)$.", "(7, 6)", "inline-math"],
    [
      "Hence the matrix is \\[\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}\\] as required.",
      "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
      "inline-math",
    ],
    ["The solution set is \\(x \\geq 5\\).", "x \\geq 5", "inline-math"],
    ["The solution set is x \\geq 5.", "x \\geq 5", "last-number"],
    ["The answer is all real numbers x such that x \\leq -2.", "x \\leq -2", "answer-is"],
    ["Adding, \\(2 + 3 = 5\\).", "5", "inline-math"],
    ["We get $x = 3$, so the total is 12 apples.", "12", "last-number"],
    ["the value of $n$ is 34", "34", "last-number"],
    ["It costs $5 and $10 in total", "10", "last-number"],
    ["The ratio is $\\frac{1}{2}$", "\\frac{1}{2}", "inline-math"],
    ["Answer $ 9 $", "9", "inline-math"],
    ["It costs $5, so $x$ is it", "5", "last-number"],
    ["She needs 1 1/2 cups.", "1 1/2", "last-number"],
  ])("%j → %j (%s)", (text, answer, method) => {
    expect(extractAnswer(text)).toEqual({ answer, method });
  });
});

describe("grading: answer forms", () => {
  it("relations and inequalities are kept whole and normalised by sign", () => {
    check([
      ["The solution set is $x \\geq 5$.", "x \\geq 5", true],
      ["The solution set is $x \\geq 5$.", "5", false],
      ["\\boxed{-x > -1}", "x < 1", true],
      ["\\boxed{2x < 2}", "x < 1", true],
      ["\\boxed{x > 1}", "x < 1", false],
      ["\\boxed{x \\le 3}", "3 \\ge x", true],
      ["\\boxed{x < 3}", "x \\le 3", false],
      ["\\boxed{x \\ge 5}", "[5, \\infty)", true],
    ]);
  });

  it("lists are told apart from thousands separators", () => {
    check([
      ["\\boxed{32, 349}", "32349", false],
      ["\\boxed{32,349}", "32349", true],
      ["\\boxed{1, 234}", "234, 1", true],
      ["\\boxed{0,111}", "111", false],
      ["\\boxed{0,111}", "0, 111", true],
      ["The final answer is $10,455$.", "10455", true],
      ["\\boxed{1{,}000{,}000}", "1000000", true],
    ]);
  });

  it("'label = value' is accepted both ways; an equation with an unknown is not its right side", () => {
    check([
      ["\\boxed{|AB| = 1}", "1", true],
      ["\\boxed{1}", "|AB| = 1", true],
      ["\\boxed{x = 5}", "5", true],
      ["\\boxed{5}", "x = 5", true],
      ["\\boxed{f(2) = 3}", "3", true],
      ["\\boxed{2x = 10}", "10", false],
      ["\\boxed{x + 1 = 6}", "6", false],
      ["\\boxed{6}", "x + 1 = 6", false],
      ["\\boxed{y = 2x + 3}", "2x + 3", true],
    ]);
  });

  it("undefined values are never equal to anything", () => {
    check([
      ["\\boxed{\\frac{1}{0}}", "\\infty", false],
      ["\\boxed{\\frac{1}{0}}", "0", false],
      ["\\boxed{\\frac{2}{1 - 1}}", "\\infty", false],
      ["\\boxed{0^{-1}}", "\\infty", false],
      ["\\boxed{\\ln 0}", "-\\infty", false],
      ["\\boxed{\\infty}", "\\infty", true],
    ]);
  });

  it("percent and scale words", () => {
    check([
      ["The answer is 28 pct.", "28\\%", true],
      ["The answer is 28 percent.", "28", true],
      ["\\boxed{28\\text{ percentage}}", "28\\%", true],
      ["The answer is 1.8 billion.", "1800000000", true],
      ["\\boxed{1.8 \\text{ billion}}", "1.8 \\times 10^9", true],
      ["The answer is 3 million.", "3000000", true],
      ["The answer is 2 thousand.", "2000", true],
      ["The answer is 1.8 billion.", "180000000", false],
    ]);
  });

  it("repeating decimals", () => {
    check([
      ["The answer is 0.333...", "\\frac{1}{3}", true],
      ["\\boxed{0.333\\ldots}", "1/3", true],
      ["\\boxed{0.1666\\dots}", "\\frac{1}{6}", true],
      ["\\boxed{0.142857142857...}", "\\frac{1}{7}", true],
      ["\\boxed{0.\\overline{3}}", "\\frac{1}{3}", true],
      ["\\boxed{0.1\\overline{6}}", "\\frac{1}{6}", true],
      ["The answer is 0.333...", "\\frac{1}{4}", false],
      ["\\boxed{0.33}", "\\frac{1}{3}", false],
    ]);
  });

  it("Unicode vulgar fractions", () => {
    check([
      ["She needs ½ cup.", "\\frac{1}{2}", true],
      ["The answer is 1½.", "1.5", true],
      ["\\boxed{¾}", "0.75", true],
      ["\\boxed{⅓}", "\\frac{1}{3}", true],
      ["\\boxed{⅔}", "\\frac{1}{3}", false],
    ]);
  });

  it("mixed numbers, spaced thousands separators and E notation", () => {
    check([
      ["She needs 1 1/2 cups.", "\\frac{3}{2}", true],
      ["She needs 1 1/2 cups.", "\\frac{1}{2}", false],
      ["The final answer is $14 {, }916$.", "14916", true],
      ["\\boxed{1.5E3}", "1500", true],
    ]);
  });

  it("alternatives joined by 'or' without spaces", () => {
    check([
      ["\\boxed{(11,7)or(7,11)}", "(7,11),(11,7)", true],
      ["\\boxed{(11,7) \\text{ or } (7,11)}", "(11, 7), (7, 11)", true],
      ["\\boxed{(11,7)or(7,11)}", "(7,11)", false],
    ]);
  });

  it("boxes are joined only when they end the response together", () => {
    check([
      ["The roots are \\boxed{2} and \\boxed{-3}.", "-3, 2", true],
      ["The roots are $\\boxed{2}$, $\\boxed{-3}$", "2, -3", true],
      ["\\boxed{2} and \\boxed{500}", "2500", false],
      ["First \\boxed{2}, then a long step.\nSo the other root is \\boxed{-3}.", "-3, 2", false],
    ]);
    expect(lastLineBoxed("a \\boxed{1} then words \\boxed{2} and \\boxed{3}")).toEqual(["2", "3"]);
  });

  it("GSM8K endings", () => {
    check([
      ["Janet sells 16 - 3 - 4 = 9 eggs.\nShe makes 9 * 2 = $18.\nA: 18", "18", true],
      ["So she makes $18 every day. The answer is 18.", "18", true],
      ["He made 70,000.\n#### 70,000", "70000", true],
      ["He made a profit of $70,000.", "70000", true],
      ["A: 17", "18", false],
    ]);
  });
});

describe("GSM8K references in both styles", () => {
  it.each([
    ["Janet sells 9 eggs.\nShe makes 9 * 2 = $<<9*2=18>>18.\n#### 18", "18"],
    ["#### 1,000", "1000"],
    ["Janet sells 9 eggs. She makes 9 * 2 = 18 dollars. The answer is 18.", "18"],
    ["She makes 18.\nA: 18", "18"],
    ["The answer is $1,200.", "1200"],
    ["18", "18"],
    ["-3.5", "-3.5"],
  ])("%j → %j", (field, ref) => {
    expect(gsm8kReference(field)).toBe(ref);
  });

  it("a field with no reference is null, and the loader says what it expected", () => {
    expect(gsm8kReference("no answer here")).toBeNull();
    expect(gsm8kReference("#### Step 1")).toBeNull();
  });

  it("the shared GSM8K file loads in its `####` style", () => {
    const ps = loadBenchmark("gsm8k", { dataDir: dataDir(), limit: 3 });
    expect(ps.map((p) => p.answer)).toEqual(["18", "3", "70000"]);
  });
});

describe("isEquivalent on the reviewer's wrong verdicts", () => {
  it.each([
    ["2x=10", "10"],
    ["x+1=6", "6"],
    ["2, 500", "2500"],
    ["\\frac{1}{0}", "\\infty"],
    ["32, 349", "32349"],
    ["0,111", "111"],
    ["x \\geq 5", "5"],
  ])("%j is not %j", (a, b) => {
    expect(isEquivalent(a, b).verdict).not.toBe("equal");
    expect(isEquivalent(b, a).verdict).not.toBe("equal");
  });

  it.each([
    ["1, 234", "234, 1"],
    ["|AB|=1", "1"],
    ["-x > -1", "x < 1"],
    ["28 pct", "28\\%"],
    ["percentage: 28 percentage", "28"],
    ["1.8 billion", "1800000000"],
    ["0.333...", "1/3"],
    ["½", "0.5"],
    ["(11,7)or(7,11)", "(7,11),(11,7)"],
  ])("%j equals %j (both ways)", (a, b) => {
    if (a.startsWith("percentage:")) a = a.slice("percentage: ".length);
    expect(isEquivalent(a, b).verdict).toBe("equal");
    expect(isEquivalent(b, a).verdict).toBe("equal");
  });

  it("invalid options are a typed error", () => {
    expect(() => gradeResponse("\\boxed{1}", "1", { maxSteps: -1 })).toThrow(EvalMathError);
  });
});
