import { describe, expect, it } from "vitest";
import { batchFromRecords, resolveStabilityConfig, scorePool } from "../src/index.js";

describe("README example", () => {
  it("runs and ranks the confident error first", () => {
    const config = resolveStabilityConfig({ zMin: 0 });
    const batch = batchFromRecords([
      {
        id: "a",
        policyChosen: -42.1,
        policyRejected: -30.5,
        referenceChosen: -41.9,
        referenceRejected: -30.8,
        chosenTokens: 20,
        rejectedTokens: 15,
        perturbed: [-0.98, -1.02, -1.0, -0.97],
      },
      {
        id: "b",
        policyChosen: -12.0,
        policyRejected: -25.0,
        referenceChosen: -12.5,
        referenceRejected: -24.0,
        chosenTokens: 10,
        rejectedTokens: 12,
        perturbed: [0.8, 0.9, 1.0, 0.85],
      },
    ]);
    const s = scorePool(batch, config);
    // pair a: e = −42.1/20 + 30.5/15 ≈ −0.07 (the policy prefers the rejected answer); pair b: e ≈ +0.88
    expect(s.score[0]).toBeGreaterThan(s.score[1]!);
    expect(Array.from(s.trivial)).toEqual([0, 0]);
  });
});
