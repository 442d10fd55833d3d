import { describe, expect, it } from "vitest";
import { extractAnswer, extractAnswers, findBoxed, gradeResponse, lastLineBoxed } from "../src/index.js";

describe("extractAnswer", () => {
  it.each([
    ["So the answer is $\\boxed{42}$.", "42", "boxed"],
    ["\\boxed{1} then finally \\boxed{\\frac{1}{2}}", "\\frac{1}{2}", "boxed"],
    ["nested \\boxed{\\frac{\\sqrt{3}}{2}} done", "\\frac{\\sqrt{3}}{2}", "boxed"],
    ["deep \\boxed{\\left\\{1, {2, {3}}\\right\\}}", "\\left\\{1, {2, {3}}\\right\\}", "boxed"],
    ["use fbox: \\fbox{7}", "7", "boxed"],
    ["framebox \\framebox{204} minutes", "204", "boxed"],
    ["brace-less $\\boxed 5$", "5", "boxed"],
    ["brace-less \\boxed 12.", "12", "boxed"],
    ["escaped brace \\boxed{\\{1,2\\}}", "\\{1,2\\}", "boxed"],
    [
      "Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.",
      "\\frac{3}{4}",
      "final-answer",
    ],
    ["Final Answer: The final answer is 12. I hope it is correct.", "12", "final-answer"],
    ["She makes 9 * 2 = 18 dollars.\n#### 18", "18", "gsm8k"],
    ["#### 1,000", "1,000", "gsm8k"],
    ["Thus the answer is $x = 3$. Done", "x = 3", "answer-is"],
    ["The answer is 7.", "7", "answer-is"],
    ["Answer: \\(2\\sqrt{2}\\)", "2\\sqrt{2}", "answer-is"],
    ["we get 3 apples and then 4 more, 7 in total", "7", "last-number"],
    ["total = 1,234 dollars", "1234", "last-number"],
    ["ratio -3/4 here", "-3/4", "last-number"],
  ])("%j → %j (%s)", (text, answer, method) => {
    expect(extractAnswer(text)).toEqual({ answer, method });
  });

  it("returns null when nothing is found, and on unterminated boxes falls through", () => {
    expect(extractAnswer("no numbers here")).toBeNull();
    expect(extractAnswer("\\boxed{12")).toEqual({ answer: "12", method: "last-number" });
  });

  it("the last answer statement wins by position; `order` picks the methods used", () => {
    const text = "The answer is 3. \\boxed{4}";
    expect(extractAnswer(text)?.answer).toBe("4");
    expect(extractAnswer("\\boxed{4}. So the answer is 3.")?.answer).toBe("3");
    expect(extractAnswer(text, { order: ["answer-is"] })?.answer).toBe("3");
    expect(extractAnswer(text, { order: ["gsm8k"] })).toBeNull();
  });

  it("extractAnswers lists every boxed answer (last first) and other methods' candidates", () => {
    const all = extractAnswers("\\boxed{1} and \\boxed{2}. The answer is 2.");
    expect(all.map((a) => a.answer)).toEqual(["2", "1"]);
  });

  it("findBoxed ignores longer command names and reports spans", () => {
    expect(findBoxed("\\boxedfoo{1} \\boxed{2}").map((b) => b.content)).toEqual(["2"]);
    const [b] = findBoxed("ab\\boxed{x}cd");
    expect(b).toEqual({ content: "x", start: 2, end: 11 });
  });

  it("lastLineBoxed collects the boxes of the final paragraph", () => {
    expect(lastLineBoxed("first \\boxed{9}\n\nthe roots are \\boxed{2} and \\boxed{3}.")).toEqual(["2", "3"]);
  });
});

describe("gradeResponse", () => {
  it("grades the extracted answer and reports the method", () => {
    const g = gradeResponse("... so we get \\(\\boxed{1 \\frac{1}{10}}\\).", "\\frac{11}{10}");
    expect(g).toMatchObject({
      correct: true,
      verdict: "equal",
      extracted: "1 \\frac{1}{10}",
      method: "boxed",
    });
  });

  it("joins several boxes on the last line when the reference is a list", () => {
    const g = gradeResponse("The solutions are \\boxed{2} and \\boxed{-3}.", "-3, 2");
    expect(g.correct).toBe(true);
    expect(g.extracted).toBe("2, -3");
  });

  it("no answer → unparseable, not correct", () => {
    expect(gradeResponse("I do not know.", "5")).toMatchObject({
      correct: false,
      verdict: "unparseable",
      extracted: null,
    });
  });

  it("a wrong boxed answer is not rescued by other numbers in the text", () => {
    expect(gradeResponse("5 is tempting but \\boxed{6}", "5").correct).toBe(false);
  });
});
