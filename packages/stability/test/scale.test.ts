import { describe, expect, it } from "vitest";
import {
  baselineScores,
  DEFAULT_STABILITY_CONFIG,
  type PairStatsBatch,
  Rng,
  scorePool,
} from "../src/index.js";

describe("pools of 10^6 pairs", () => {
  it("scores 10^6 pairs with K = 4 (completes; time is printed, not asserted)", () => {
    const n = 1_000_000;
    const k = 4;
    const rng = new Rng(2024);
    const col = (f: () => number) => {
      const a = new Float64Array(n);
      for (let i = 0; i < n; i++) a[i] = f();
      return a;
    };
    const batch: PairStatsBatch = {
      policyChosen: col(() => -100 * rng.next()),
      policyRejected: col(() => -100 * rng.next()),
      referenceChosen: col(() => -100 * rng.next()),
      referenceRejected: col(() => -100 * rng.next()),
      chosenTokens: col(() => 1 + rng.int(200)),
      rejectedTokens: col(() => 1 + rng.int(200)),
    };
    const p = new Float64Array(n * k);
    for (let i = 0; i < n * k; i++) p[i] = 4 * rng.normal();
    const full: PairStatsBatch = { ...batch, perturbed: p, k };
    const r = scorePool(full, DEFAULT_STABILITY_CONFIG);
    baselineScores("hard-mining", full, DEFAULT_STABILITY_CONFIG);
    expect(r.n).toBe(n);
    let finite = 0;
    for (let i = 0; i < n; i++) if (Number.isFinite(r.score[i]!)) finite++;
    expect(finite).toBe(n);
  });
});
