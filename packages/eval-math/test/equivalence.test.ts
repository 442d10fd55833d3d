import { describe, expect, it } from "vitest";
import { isEquivalent, normalizeAnswer, parseAnswer, textKey } from "../src/index.js";

describe("which rule decides (reasons and verdicts)", () => {
  it("numbers without variables are compared numerically; integers exactly", () => {
    expect(isEquivalent("\\frac{1}{2}", "0.5").reason).toMatch(/^numeric/);
    expect(isEquivalent("12", "12.0").verdict).toBe("equal");
    expect(isEquivalent("999999999999999999", "1000000000000000000").reason).toMatch(
      /integers compare exactly/,
    );
  });

  it("expressions with variables: numeric at seeded points, symbolic when numeric is inconclusive", () => {
    expect(isEquivalent("(x+1)^2", "x^2+2x+1").reason).toMatch(/numeric: agree at \d+ random points/);
    // log base 1 is infinite/undefined at every point → simplify decides
    expect(isEquivalent("\\log_1 x + 1", "1 + \\log_1 x").reason).toMatch(/symbolic/);
    expect(isEquivalent("\\log_1 x + 1", "1 + \\log_1 x", { symbolic: false }).verdict).toBe("unknown");
    // integer functions are sampled at integers
    expect(isEquivalent("\\binom{n}{2}", "\\frac{n(n-1)}{2}").reason).toMatch(
      // mathjs rejects combinations(1, 2) (k > n), so n = 1 is skipped: 47 of 1..48
      /numeric: agree at 47 integer points/,
    );
    const ne = isEquivalent("x^2", "x^3");
    expect(ne.verdict).toBe("not-equal");
    expect(ne.reason).toMatch(/differ at x=/);
  });

  it("step functions are checked at every integer 1..48: a change that shows at a few integers is caught", () => {
    // ⌊√(n−2)⌋ and ⌊√(n−3)⌋ differ only where n − 2 is a perfect square (n = 3, 6, 11, 18, 27, 38)
    const floorSqrt = isEquivalent("\\lfloor\\sqrt{n-3}\\rfloor", "\\lfloor\\sqrt{n-2}\\rfloor");
    expect(floorSqrt.verdict).toBe("not-equal");
    expect(floorSqrt.reason).toMatch(/differ at n=(3|6|11|18|27|38)\b/);
    // whatever the seed (the univariate grid draws nothing)
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8])
      expect(
        isEquivalent("\\lfloor\\sqrt{n-3}\\rfloor", "\\lfloor\\sqrt{n-2}\\rfloor", { seed }).verdict,
      ).toBe("not-equal");
    // identities over the integers still hold
    expect(isEquivalent("\\lfloor n/2 \\rfloor", "\\lceil (n-1)/2 \\rceil").verdict).toBe("equal");
    expect(isEquivalent("\\binom{m+n}{m}", "\\binom{m+n}{n}").verdict).toBe("equal");
    // two variables: 48 seeded tuples; gcd(m, n) · lcm(m, n) = m n
    expect(isEquivalent("\\gcd(m,n)\\operatorname{lcm}(m,n)", "mn").reason).toMatch(
      /agree at 48 integer points/,
    );
  });

  it("the random points are seeded: same seed, same reason", () => {
    const a = isEquivalent("x^2+y", "x^3+y", { seed: 1 }).reason;
    expect(isEquivalent("x^2+y", "x^3+y", { seed: 1 }).reason).toBe(a);
    expect(isEquivalent("x^2+y", "x^3+y", { seed: 2 }).reason).not.toBe(a);
  });

  it("doubles that overflow are re-checked with BigNumbers", () => {
    expect(isEquivalent("2^{2000}", "4^{1000}").reason).toMatch(/bignumber/);
  });

  it("text answers: equal texts are equal, different words are not-equal (not unknown)", () => {
    expect(isEquivalent("\\text{Devon}", "devon").verdict).toBe("equal");
    expect(isEquivalent("\\text{odd}", "\\text{even}").verdict).toBe("not-equal");
  });

  it("unparseable answers say so", () => {
    const r = isEquivalent("\\frac{1}{", "\\frac12");
    expect(r.verdict).toBe("unparseable");
    expect(r.reason).toMatch(/^prediction:/);
    expect(isEquivalent("", "1").verdict).toBe("unparseable");
  });
});

describe("normalisation", () => {
  it.each([
    ["$\\dfrac{1}{2}$", "\\frac{1}{2}"],
    ["\\left( 1, 2 \\right)", "( 1, 2 )"],
    ["10{,}000", "10000"],
    ["50,\\!625", "50625"],
    ["1,234,567", "1234567"],
    ["48^\\circ", "48"],
    ["\\$6", "6"],
    ["100\\text{ square units}", "100"],
    ["5 \\mbox{ cm}^2", "5"],
    ["12 inches", "12"],
    ["\\text{Devon}", "Devon"],
    ["\\boxed{7}", "7"],
    ["x \\in [1, 2]", "[1, 2]"],
    ["0.\\overline{3}", "\\frac{3}{9}"],
    ["\\mathbf{u}", "u"],
    ["2 and 3", "2, 3"],
    ["1.", "1"],
  ])("%j → %j", (input, out) => {
    expect(normalizeAnswer(input).text).toBe(out);
  });

  it("records a removed percent sign", () => {
    expect(normalizeAnswer("25\\%")).toEqual({ text: "25", percent: true, wasText: false });
    expect(normalizeAnswer("25").percent).toBe(false);
  });

  it("textKey ignores \\text, spaces, case and a trailing period", () => {
    expect(textKey("\\text{4:30 p.m.}")).toBe(textKey("4:30 \\text{ P.M.}"));
  });

  it("parseAnswer returns a tree or null", () => {
    expect(parseAnswer("\\frac{1}{2}")).toEqual({
      k: "bin",
      op: "/",
      a: { k: "num", v: 1, text: "1" },
      b: { k: "num", v: 2, text: "2" },
    });
    expect(parseAnswer("\\unknowncommand")).toBeNull();
  });
});
