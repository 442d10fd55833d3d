import { describe, expect, it } from "vitest";
import { isEquivalent } from "../src/index.js";
import { CASES } from "./fixtures/equivalence-cases.js";

describe("hand-written equivalence table", () => {
  it("has at least 200 cases, with both equal and not-equal ones for most rules", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(200);
    const eqCount = CASES.filter((c) => c[2] === "equal").length;
    expect(eqCount).toBeGreaterThan(80);
    expect(CASES.length - eqCount).toBeGreaterThan(60);
  });

  it.each(CASES.map((c, i) => [i, ...c] as const))(
    "#%i %j vs %j → %s (%s)",
    (_i, pred, ref, expected, _rule, opts) => {
      const r = isEquivalent(pred, ref, opts ?? {});
      if (expected === "equal") expect(r, r.reason).toMatchObject({ verdict: "equal" });
      else expect(r.verdict, r.reason).not.toBe("equal");
    },
  );

  it("is symmetric on the table's equal cases (swapping prediction and reference)", () => {
    const asym = CASES.filter(
      ([p, r, e, , o]) => e === "equal" && isEquivalent(r, p, o ?? {}).verdict !== "equal",
    ).map((c) => c[3]);
    // Only rules that are one-directional by design may appear here.
    const allowed = new Set(["choice with value", "computation = value"]);
    expect(asym.filter((rule) => !allowed.has(rule))).toEqual([]);
  });
});
