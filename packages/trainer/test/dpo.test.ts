import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type DpoLossType, dpoLoss, learningRateAt } from "../src/index.js";

const f = (x: number) => Float64Array.of(x);

describe("dpoLoss", () => {
  it("is ln 2 with zero rewards when policy = reference (sigmoid)", () => {
    const r = dpoLoss(f(-5), f(-7), f(-5), f(-7), { beta: 0.1, lossType: "sigmoid" });
    expect(r.losses[0]).toBeCloseTo(Math.LN2, 15);
    expect(r.chosenRewards[0]).toBe(0);
    expect(r.dChosen[0]).toBeCloseTo(-0.05, 15); // −β σ(0)
  });

  it("swapping chosen and rejected negates the rewards margin", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -50, max: 0, noNaN: true }), { minLength: 4, maxLength: 4 }),
        ([a, b, c, d]) => {
          const o = { beta: 0.3, lossType: "sigmoid" as const };
          const x = dpoLoss(f(a!), f(b!), f(c!), f(d!), o);
          const y = dpoLoss(f(b!), f(a!), f(d!), f(c!), o);
          const mx = x.chosenRewards[0]! - x.rejectedRewards[0]!;
          const my = y.chosenRewards[0]! - y.rejectedRewards[0]!;
          expect(my).toBeCloseTo(-mx, 9);
        },
      ),
    );
  });

  it.each<[DpoLossType, number]>([
    ["sigmoid", 0],
    ["sigmoid", 0.1],
    ["hinge", 0],
    ["ipo", 0],
  ])("derivative matches central differences (%s, ε=%s)", (lossType, labelSmoothing) => {
    // h = 1e-6 in log-prob units; central-difference error O(h²·L''') ≪ 1e-6 for these smooth losses.
    const opts = { beta: 0.5, lossType, labelSmoothing };
    const pts: Array<[number, number, number, number]> = [
      [-3, -4, -3.5, -3.2],
      [-10, -2, -9, -2.5],
      [-1, -8, -1.5, -6],
    ];
    for (const [pc, pr, rc, rr] of pts) {
      const r = dpoLoss(f(pc), f(pr), f(rc), f(rr), opts);
      const h = 1e-6;
      const L = (a: number, b: number) => dpoLoss(f(a), f(b), f(rc), f(rr), opts).losses[0]!;
      const numC = (L(pc + h, pr) - L(pc - h, pr)) / (2 * h);
      const numR = (L(pc, pr + h) - L(pc, pr - h)) / (2 * h);
      expect(r.dChosen[0]).toBeCloseTo(numC, 6);
      expect(r.dRejected[0]).toBeCloseTo(numR, 6);
    }
  });

  it("stays finite for extreme margins and rejects bad options", () => {
    const r = dpoLoss(f(-1e6), f(0), f(0), f(-1e6), { beta: 1, lossType: "sigmoid" });
    expect(r.losses[0]).toBe(2e6);
    expect(r.dChosen[0]).toBe(-1);
    expect(() => dpoLoss(f(0), f(0), f(0), f(0), { beta: 0, lossType: "sigmoid" })).toThrow(/beta/);
    expect(() =>
      dpoLoss(f(0), f(0), f(0), f(0), { beta: 1, lossType: "sigmoid", labelSmoothing: 0.5 }),
    ).toThrow(/labelSmoothing/);
    expect(() => dpoLoss(f(0), Float64Array.of(0, 1), f(0), f(0), { beta: 1, lossType: "sigmoid" })).toThrow(
      /equal length/,
    );
  });
});

describe("learningRateAt", () => {
  it("warms up linearly, then follows the schedule to 0", () => {
    const s = { peak: 1, warmupSteps: 4, totalSteps: 14 };
    expect([0, 1, 3].map((t) => learningRateAt(t, { ...s, type: "constant" }))).toEqual([0.25, 0.5, 1]);
    expect(learningRateAt(9, { ...s, type: "constant" })).toBe(1);
    expect(learningRateAt(9, { ...s, type: "linear" })).toBeCloseTo(0.5, 12);
    expect(learningRateAt(9, { ...s, type: "cosine" })).toBeCloseTo(0.5, 12);
    expect(learningRateAt(14, { ...s, type: "linear" })).toBe(0);
    expect(learningRateAt(14, { ...s, type: "cosine" })).toBeCloseTo(0, 12);
  });
});
