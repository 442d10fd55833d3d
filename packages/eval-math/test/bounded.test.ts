import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_MAX_STEPS,
  EvalMathError,
  extractAnswer,
  findBoxed,
  gradeResponse,
  gradeStepBound,
  isEquivalent,
  normalizeAnswer,
  parseLatex,
  StepCounter,
} from "../src/index.js";

// Work is bounded in counted steps (StepCounter), never in milliseconds: the same input takes the
// same number of steps on any machine, busy or not.

const VERDICTS = ["equal", "not-equal", "unknown", "unparseable"];

describe("bounded work on adversarial comparisons (counted steps)", () => {
  it.each([
    ["deep nesting", `${"(".repeat(5000)}1${")".repeat(5000)}`, "1"],
    ["deep braces", `${"\\frac{".repeat(300)}1${"}{2}".repeat(300)}`, "1"],
    ["very long input", `${"1+".repeat(50_000)}1`, "50001"],
    ["unbalanced", "\\frac{1}{", "1"],
    ["garbage", "@@@###", "1"],
    ["huge tower", "10^{10^{10^{10}}}", "10^{10^{10^{10}}}+1"],
    ["huge exponent with variable", "x^{1000000}", "x^{1000001}"],
    ["big power of sum", "(x+1)^{50}", "(x+1)^{49}(x+1)"],
    ["many variables", "abcdefghijklmnopqrstuvw", "wvutsrqponmlkjihgfedcba"],
    ["long polynomial", Array.from({ length: 60 }, (_, i) => `${i + 1}x^{${i}}`).join("+"), "1"],
    ["factorial of a big number", "1000000!", "1000001!"],
    ["(10^9)!", "(10^9)!", "(10^9)!+1"],
    ["binomial of 10^9", "\\binom{10^9}{5\\cdot10^8}", "\\binom{10^9}{5\\cdot10^8+1}"],
    ["100000!", "100000!", "99999! \\cdot 100000"],
    ["factorial inside an expression", "x \\cdot (10^9)!", "(10^9)! \\cdot x"],
    ["binomial inside an expression", "\\binom{10^9}{5\\cdot10^8} + x", "x"],
    ["nested matrices", "\\begin{pmatrix}\\begin{pmatrix}1\\end{pmatrix}\\end{pmatrix}", "1"],
    ["long digit run", `0.${"3".repeat(4900)}`, "\\frac{1}{3}"],
    ["long space run", `1${" ".repeat(4900)}x`, "1"],
  ])("%s: a verdict within the step budget", (_name, pred, ref) => {
    const counter = new StepCounter();
    const r = isEquivalent(pred, ref, { counter });
    expect(VERDICTS).toContain(r.verdict);
    expect(typeof r.reason).toBe("string");
    expect(counter.steps).toBeGreaterThan(0);
    expect(counter.steps).toBeLessThanOrEqual(DEFAULT_MAX_STEPS);
  });

  it("huge factorials and binomials are compared by magnitude (log-gamma), never computed", () => {
    expect(isEquivalent("100000!", "99999!").verdict).toBe("not-equal");
    expect(isEquivalent("100000!", "99999!").reason).toMatch(/^magnitude/);
    // equal to 1e-6 relative: ln 10^{100000!} vs ln of itself times (1 + 1e-12)
    expect(isEquivalent("(10^9)!", "(10^9)! \\cdot 1").reason).toMatch(/magnitude|identical/);
    // too close for the precision of the logs: unknown, not a guess
    expect(isEquivalent("(10^9)!", "(10^9)!+1").verdict).toBe("unknown");
    expect(isEquivalent("\\binom{10^9}{5\\cdot10^8}", "\\binom{10^9}{5\\cdot10^8}+1").verdict).toBe(
      "unknown",
    );
    expect(isEquivalent("\\binom{10^9}{5\\cdot10^8}", "2^{10^9}").verdict).toBe("not-equal");
    // small ones still exactly: 20! and its value
    expect(isEquivalent("20!", "2432902008176640000").verdict).toBe("equal");
    expect(isEquivalent("\\binom{50}{25}", "126410606437752").verdict).toBe("equal");
  });

  it("parser backtracking is capped: deep mixed numbers and sets with raised limits stay bounded", () => {
    const limits = { maxDepth: 2000, maxLength: 5000, maxTokens: 3000 };
    for (const s of [
      `${"1\\frac{".repeat(60)}1${"}{2}".repeat(60)}`,
      `${"\\{".repeat(200)}x${"\\}".repeat(200)}`,
    ]) {
      const counter = new StepCounter();
      const r = isEquivalent(s, "1", { limits, counter });
      expect(r.verdict).toBe("unparseable");
      expect(r.reason).toMatch(/parse work over/);
      expect(counter.steps).toBeLessThanOrEqual(DEFAULT_MAX_STEPS);
    }
  });

  it("inputs over the length limits are refused before any rule runs", () => {
    const long = `${"1+".repeat(350)}1`; // 701 characters, value 351
    expect(isEquivalent(long, "351").verdict).toBe("unparseable");
    expect(isEquivalent(long, "351", { limits: { maxLength: 1000, maxTokens: 1000 } }).verdict).toBe("equal");
    const counter = new StepCounter();
    const huge = isEquivalent("3".repeat(100_000), "3", { counter });
    expect(huge).toMatchObject({ verdict: "unparseable" });
    expect(huge.reason).toMatch(/too long/);
    expect(counter.steps).toBeLessThan(10);
  });

  it("the step budget turns a long check into 'unknown', and steps never pass it", () => {
    const counter = new StepCounter();
    const r = isEquivalent("(x+1)^2 + y", "x^2 + 2x + 1 + y", {
      numericPoints: 200_000,
      maxSteps: 20_000,
      symbolic: false,
      counter,
    });
    expect(r.verdict).toBe("unknown");
    expect(r.reason).toMatch(/step budget/);
    expect(counter.steps).toBeLessThanOrEqual(20_000);
    // the same comparison with few points is decided
    expect(isEquivalent("(x+1)^2 + y", "x^2 + 2x + 1 + y").verdict).toBe("equal");
  });

  it("counts are deterministic: the same call takes the same number of steps", () => {
    const a = new StepCounter();
    const b = new StepCounter();
    isEquivalent("\\frac{x^2-1}{x-1}", "x+1", { counter: a });
    isEquivalent("\\frac{x^2-1}{x-1}", "x+1", { counter: b });
    expect(a.steps).toBe(b.steps);
    expect(a.steps).toBeGreaterThan(100);
  });

  it("the symbolic node limit skips simplify but numeric still decides", () => {
    const r = isEquivalent("(x+1)^2", "x^2+2x+1", { maxSymbolicNodes: 0 });
    expect(r).toMatchObject({ verdict: "equal" });
    expect(r.reason).toMatch(/numeric/);
  });

  it("never throws on arbitrary LaTeX-like strings (property test, seeded)", () => {
    const alphabet = "0123456789xyz+-*/^_{}()[],.=<>|!\\ fracsqrtpileftright%$".split("");
    const token = fc.oneof(
      fc.constantFrom(...alphabet),
      fc.constantFrom(
        "\\frac",
        "\\sqrt",
        "\\pi",
        "\\left(",
        "\\right)",
        "\\boxed{",
        "\\{",
        "\\}",
        "\\pm",
        "\\text{",
        "\\begin{pmatrix}",
        "\\\\",
        "&",
        "!",
        "\\binom",
        "10^{9}",
      ),
    );
    const latex = fc.array(token, { maxLength: 40 }).map((a) => a.join(""));
    fc.assert(
      fc.property(latex, latex, (a, b) => {
        const counter = new StepCounter();
        const r = isEquivalent(a, b, { counter });
        return VERDICTS.includes(r.verdict) && counter.steps <= DEFAULT_MAX_STEPS;
      }),
      { seed: 4242, numRuns: 400 },
    );
  });

  it("rejects invalid options and non-string arguments with a typed error", () => {
    expect(() => isEquivalent("1", "1", { relTol: -1 })).toThrow(EvalMathError);
    expect(() => isEquivalent("1", "1", { numericPoints: 1.5 })).toThrow(/numericPoints/);
    expect(() => isEquivalent("1", "1", { maxSteps: 0 })).toThrow(/maxSteps must be a positive/);
    expect(() => isEquivalent("1", "1", { counter: {} as StepCounter })).toThrow(/StepCounter/);
    expect(() => isEquivalent("1", "1", { timeBudgetMs: 500 } as never)).toThrow(/use|pass maxSteps/);
    expect(() => isEquivalent(1 as unknown as string, "1")).toThrow(/expects two strings/);
  });

  it("parseLatex builds data only (a JS-looking answer is just symbols or a parse error)", () => {
    expect(isEquivalent("process.exit(1)", "1").verdict).not.toBe("equal");
    expect(() => parseLatex("constructor")).not.toThrow();
    expect(isEquivalent("__proto__", "1").verdict).not.toBe("equal");
  });
});

/** Grade `response` with a fresh counter; returns the result and the steps it took. */
function graded(response: string, reference: string) {
  const counter = new StepCounter();
  const result = gradeResponse(response, reference, { counter });
  return { result, steps: counter.steps };
}

describe("bounded extraction and grading of whole responses (linear in the length)", () => {
  const MB = 1 << 20;

  it.each([
    ["100 KB degenerate 0.333…", `The answer is 0.${"3".repeat(100_000)}...`, "\\frac{1}{3}"],
    ["100,000 empty boxes", "\\boxed{}".repeat(100_000), "1"],
    ["100,000 unterminated boxes", "\\boxed{".repeat(100_000), "1"],
    ["100,000 nested boxes", `${"\\boxed{".repeat(50_000)}1${"}".repeat(50_000)}`, "1"],
    ["100,000 brace-less boxes", "\\boxed 5 ".repeat(100_000), "5"],
    ["1 MB of spaces", `1${" ".repeat(MB)}x`, "1"],
    ["1 MB of digits", "7".repeat(MB), "7"],
    ["1 MB of commas and digits", "1,234,".repeat(MB / 6), "234"],
    ["answer-is markers", "the answer is ".repeat(70_000), "1"],
    ["final-answer markers", "Final Answer: ".repeat(70_000), "1"],
    ["#### markers", "#### ".repeat(200_000), "1"],
    ["A: lines", "\nA: ".repeat(200_000), "1"],
    ["dollar signs", "$".repeat(MB), "1"],
    ["currency", "$5 and ".repeat(100_000), "5"],
    ["\\( openers", "\\(".repeat(MB / 2), "1"],
    ["\\[ openers", "\\[x".repeat(MB / 3), "1"],
    ["ellipses", "0.3... ".repeat(100_000), "\\frac13"],
    ["(10^9)! boxed", "\\boxed{(10^9)!}", "(10^9)!+1"],
    ["binomial boxed", "so \\boxed{\\binom{10^9}{5\\cdot10^8}}", "1"],
    ["100000! boxed", "\\boxed{100000!}", "99999!"],
  ])("%s: returns within the step bound for its length", (_name, response, reference) => {
    const { result, steps } = graded(response, reference);
    expect(VERDICTS).toContain(result.verdict);
    expect(steps).toBeLessThanOrEqual(gradeStepBound(response.length));
  });

  it("the bound is linear: 1 MB of input stays under a fixed step budget", () => {
    const budget = gradeStepBound(MB);
    expect(budget).toBeLessThan(20_000_000);
    const { steps } = graded(`${"\\boxed{1} and ".repeat(MB / 16)}`, "1");
    expect(steps).toBeLessThanOrEqual(budget);
  });

  it("any input up to 1 MB finishes within the fixed step budget (property test, seeded)", () => {
    const piece = fc.oneof(
      fc.constantFrom(
        "\\boxed{",
        "}",
        "{",
        "\\boxed ",
        "$",
        "$$",
        "\\(",
        "\\)",
        "\\[",
        "\\]",
        "\\",
        " ",
        "\n",
        "0.333",
        "...",
        "1,234",
        ",",
        "####",
        "A: ",
        "The answer is ",
        "Final Answer: The final answer is ",
        "I hope it is correct.",
        "\\frac{1}{0}",
        "(10^9)!",
        "\\binom{10^9}{5\\cdot10^8}",
        "x \\geq 5",
        "½",
      ),
      fc.string({ maxLength: 8 }),
    );
    const unit = fc.array(piece, { minLength: 1, maxLength: 30 }).map((a) => a.join(""));
    const big = fc
      .tuple(unit, fc.integer({ min: 1, max: 200_000 }), unit)
      .map(([u, n, tail]) => `${u.repeat(n)}${tail}`.slice(0, MB));
    const budget = gradeStepBound(MB);
    fc.assert(
      fc.property(big, (response) => {
        const { result, steps } = graded(response, "5");
        return VERDICTS.includes(result.verdict) && steps <= budget;
      }),
      { seed: 1207, numRuns: 25 },
    );
  });

  it("extraction alone charges one step per character per pass", () => {
    const counter = new StepCounter();
    const text = "x".repeat(10_000);
    expect(extractAnswer(text, { counter })).toBeNull();
    expect(counter.steps).toBeGreaterThanOrEqual(text.length);
    expect(counter.steps).toBeLessThanOrEqual(gradeStepBound(text.length, 0));
    const c2 = new StepCounter();
    expect(findBoxed("\\boxed{".repeat(1000), c2)).toEqual([]);
    expect(c2.steps).toBe(2 * 7000);
  });

  it("normalizeAnswer leaves over-long input unrewritten (the parser refuses it by length)", () => {
    const s = `0.${"3".repeat(20_000)}\\overline{3}`;
    expect(normalizeAnswer(s).text).toBe(s);
  });
});
