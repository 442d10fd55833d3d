import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EvalMathError, isEquivalent, parseLatex } from "../src/index.js";

/** Wall-clock bound per adversarial comparison. Generous (the machine is shared); typical calls take < 5 ms. */
const MAX_MS = 1500;

function timed<T>(f: () => T): { value: T; ms: number } {
  const t = performance.now();
  const value = f();
  return { value, ms: performance.now() - t };
}

describe("bounded work on adversarial input", () => {
  it.each([
    ["deep nesting", "(".repeat(5000) + "1" + ")".repeat(5000), "1"],
    ["deep braces", "\\frac{".repeat(300) + "1" + "}{2}".repeat(300), "1"],
    ["very long input", "1+".repeat(50_000) + "1", "50001"],
    ["unbalanced", "\\frac{1}{", "1"],
    ["garbage", "@@@###", "1"],
    ["huge tower", "10^{10^{10^{10}}}", "10^{10^{10^{10}}}+1"],
    ["huge exponent with variable", "x^{1000000}", "x^{1000001}"],
    ["big power of sum", "(x+1)^{50}", "(x+1)^{49}(x+1)"],
    ["many variables", "abcdefghijklmnopqrstuvw", "wvutsrqponmlkjihgfedcba"],
    ["long polynomial", Array.from({ length: 60 }, (_, i) => `${i + 1}x^{${i}}`).join("+"), "1"],
    ["factorial of a big number", "1000000!", "1000000!"],
    ["nested matrices", "\\begin{pmatrix}\\begin{pmatrix}1\\end{pmatrix}\\end{pmatrix}", "1"],
  ])("%s: returns a verdict without throwing, within budget", (_name, pred, ref) => {
    const { value, ms } = timed(() => isEquivalent(pred, ref));
    expect(["equal", "not-equal", "unknown", "unparseable"]).toContain(value.verdict);
    expect(typeof value.reason).toBe("string");
    expect(ms).toBeLessThan(MAX_MS);
  });

  it("input over the length limit is unparseable, not parsed", () => {
    const long = `${"1+".repeat(350)}1`; // 701 characters, value 351
    expect(isEquivalent(long, "351").verdict).toBe("unparseable");
    expect(isEquivalent(long, "351", { limits: { maxLength: 1000, maxTokens: 1000 } }).verdict).toBe("equal");
  });

  it("the time budget turns a long check into 'unknown'", () => {
    const r = isEquivalent("(x+1)^2 + y", "x^2 + 2x + 1 + y", {
      numericPoints: 200_000,
      timeBudgetMs: 5,
      symbolic: false,
    });
    expect(r.verdict).toBe("unknown");
    expect(r.reason).toMatch(/time budget/);
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
      ),
    );
    const latex = fc.array(token, { maxLength: 40 }).map((a) => a.join(""));
    fc.assert(
      fc.property(latex, latex, (a, b) => {
        const r = isEquivalent(a, b);
        return ["equal", "not-equal", "unknown", "unparseable"].includes(r.verdict);
      }),
      { seed: 4242, numRuns: 400 },
    );
  });

  it("rejects invalid options and non-string arguments with a typed error", () => {
    expect(() => isEquivalent("1", "1", { relTol: -1 })).toThrow(EvalMathError);
    expect(() => isEquivalent("1", "1", { numericPoints: 1.5 })).toThrow(/numericPoints/);
    expect(() => isEquivalent(1 as unknown as string, "1")).toThrow(/expects two strings/);
  });

  it("parseLatex builds data only (a JS-looking answer is just symbols or a parse error)", () => {
    expect(isEquivalent("process.exit(1)", "1").verdict).not.toBe("equal");
    expect(() => parseLatex("constructor")).not.toThrow();
    expect(isEquivalent("__proto__", "1").verdict).not.toBe("equal");
  });
});
