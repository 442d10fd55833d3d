import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DPO_STEP_ROWS, type DpoLossType, type DpoStepOptions, dpoStep } from "../src/kernels/dpo.js";
import { dpoStepRef } from "../src/reference/dpo.js";
import type { GpuContext } from "../src/runtime/context.js";
import { assertAllclose, createTestContext, expectClean, randomF32, rng } from "../src/testing.js";
import { asyncErrorCode, fdCheck } from "./fd.js";

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.destroy());

interface Case {
  sums: Float32Array;
  counts: Float32Array;
  logits: Float32Array;
  ref: Float32Array;
}

/** B pairs: sums and reference sums in [−60, −1], response lengths 1..20, logit sums in [−5, 5]. */
function makeCase(B: number, seed: number): Case {
  const r = rng(seed);
  return {
    sums: randomF32(2 * B, seed, -60, -1),
    counts: Float32Array.from({ length: 2 * B }, () => 1 + Math.floor(r() * 20)),
    logits: randomF32(2 * B, seed + 1, -5, 5),
    ref: randomF32(2 * B, seed + 2, -60, -1),
  };
}

async function runStep(c: Case, opts: DpoStepOptions) {
  const R = c.sums.length;
  const sums = ctx.tensor(c.sums, [R], "t:sums");
  const counts = ctx.tensor(c.counts, [R], "t:counts");
  const logitSums = ctx.tensor(c.logits, [R], "t:logits");
  const reads = ctx.readCount;
  const r = dpoStep(ctx, { sums, counts, logitSums, ref: c.ref }, opts);
  const encodedReads = ctx.readCount - reads;
  const values = await r.values.read();
  const grad = await r.gradSums.read();
  for (const t of [sums, counts, logitSums, r.values, r.gradSums]) t.destroy();
  return { values, grad, encodedReads };
}

function row(values: Float32Array, name: (typeof DPO_STEP_ROWS)[number], B: number): Float32Array {
  const i = DPO_STEP_ROWS.indexOf(name);
  return values.subarray(i * B, (i + 1) * B);
}

/**
 * Tolerances as in dpo.test.ts (atol 3e-4, rtol 1e-5 on losses and rewards: logits from ≤ 3 f32
 * roundings of magnitude ≤ 120, losses with slope ≤ 1 in m or 2|dev| for ipo); length
 * normalisation adds ≤ 2 roundings per mean of magnitude ≤ 60. Gradients carry the same bound
 * times gradScale, plus ≤ 2 ulps of the NLL term nllWeight/Σ|y_w|.
 */
const TOL = { atol: 3e-4, rtol: 1e-5 };

const CASES: DpoStepOptions[] = [
  { lossType: "sigmoid", beta: 0.1 },
  { lossType: "sigmoid", beta: 0.5, labelSmoothing: 0.1, nllWeight: 0.4 },
  { lossType: "robust", beta: 0.3, labelSmoothing: 0.2 },
  { lossType: "hinge", beta: 0.1, nllWeight: 1 },
  { lossType: "ipo", beta: 0.1 }, // length-normalised by default (TRL)
  { lossType: "ipo", beta: 1, lengthNormalize: false },
  { lossType: "sigmoid", beta: 0.2, lengthNormalize: true, gradScale: 0.05, nllWeight: 0.25 },
];

describe("dpoStep (fused DPO + NLL step from sequence sums)", () => {
  for (const opts of CASES) {
    for (const B of [1, 9, 300]) {
      it(`${JSON.stringify(opts)} B=${B}: values and gradients match the float64 reference, nothing read`, async () => {
        const c = makeCase(B, 17 * B + (opts.beta ?? 0) * 100);
        const got = await runStep(c, opts);
        expect(got.encodedReads).toBe(0);
        const ref = dpoStepRef(c.sums, c.counts, c.ref, opts);
        assertAllclose(row(got.values, "loss", B), ref.losses, { ...TOL, label: "loss" });
        assertAllclose(row(got.values, "chosenReward", B), ref.chosenRewards, { ...TOL, label: "cr" });
        assertAllclose(row(got.values, "rejectedReward", B), ref.rejectedRewards, { ...TOL, label: "rr" });
        // copies of the inputs: exact
        expect(row(got.values, "chosenLogp", B)).toEqual(c.sums.subarray(0, B));
        expect(row(got.values, "rejectedLogp", B)).toEqual(c.sums.subarray(B));
        expect(row(got.values, "chosenTokens", B)).toEqual(c.counts.subarray(0, B));
        expect(row(got.values, "rejectedTokens", B)).toEqual(c.counts.subarray(B));
        expect(row(got.values, "chosenLogitSum", B)).toEqual(c.logits.subarray(0, B));
        expect(row(got.values, "rejectedLogitSum", B)).toEqual(c.logits.subarray(B));
        const scale = opts.gradScale ?? 1 / B;
        assertAllclose(got.grad, ref.gradSums, { atol: 3e-4 * scale + 1e-7, rtol: 1e-5, label: "gradSums" });
        await expectClean(ctx);
      });
    }
  }

  it("the reference's gradients are the central differences of its objective (every loss type, NLL term)", () => {
    const types: [DpoLossType, number][] = [
      ["sigmoid", 0],
      ["sigmoid", 0.2],
      ["robust", 0.1],
      ["hinge", 0],
      ["ipo", 0],
    ];
    for (const [lossType, labelSmoothing] of types) {
      for (const lengthNormalize of [false, true]) {
        const c = makeCase(6, 5);
        const opts = {
          lossType,
          beta: 0.3,
          labelSmoothing,
          lengthNormalize,
          gradScale: 0.125,
          nllWeight: 0.7,
        };
        const objective = (x: Float64Array) => {
          const r = dpoStepRef(x, c.counts, c.ref, opts);
          return 0.125 * r.losses.reduce((a, b) => a + b, 0) + 0.7 * r.nll;
        };
        const g = dpoStepRef(c.sums, c.counts, c.ref, opts).gradSums;
        // float64 objective, h = 1e-5: |fd − grad| ≤ 1e-6·(1 + |grad|) (see fd.ts); hinge's kink at
        // m = 1 is not hit by these inputs (|m − 1| > 1e-3 checked below).
        if (lossType === "hinge") {
          for (let i = 0; i < 6; i++) {
            const r = dpoStepRef(c.sums, c.counts, c.ref, opts);
            expect(Math.abs(r.chosenRewards[i]! - r.rejectedRewards[i]! - 1)).toBeGreaterThan(1e-3);
          }
        }
        fdCheck(objective, c.sums, g, `${lossType} ε=${labelSmoothing} norm=${lengthNormalize}`);
      }
    }
  });

  it("ipo defaults to TRL's length normalisation: equal to dpoStepRef on per-token means", () => {
    const c = makeCase(4, 3);
    const a = dpoStepRef(c.sums, c.counts, c.ref, { lossType: "ipo", beta: 0.5 });
    const means = Float64Array.from(c.sums, (s, i) => s / c.counts[i]!);
    const refMeans = Float64Array.from(c.ref, (s, i) => s / c.counts[i]!);
    const b = dpoStepRef(means, c.counts, refMeans, {
      lossType: "ipo",
      beta: 0.5,
      lengthNormalize: false,
    });
    for (let i = 0; i < 4; i++) expect(a.losses[i]).toBeCloseTo(b.losses[i]!, 9);
  });

  it("policy = reference gives ln 2 per pair (sigmoid)", async () => {
    const c = makeCase(5, 8);
    c.ref = c.sums.slice();
    const got = await runStep(c, { beta: 0.1, nllWeight: 0 });
    for (const v of row(got.values, "loss", 5)) expect(Math.abs(v - Math.LN2)).toBeLessThan(2e-7);
    await expectClean(ctx);
  });

  it("bad input is a typed error naming the argument", async () => {
    const t = (n: number) => ctx.tensor(new Float32Array(n), [n], "t:bad");
    const odd = t(3);
    const four = t(4);
    const two = t(2);
    try {
      expect(await asyncErrorCode(async () => dpoStep(ctx, { sums: odd, counts: odd, ref: odd }))).toBe(
        "SHAPE_MISMATCH",
      );
      expect(
        await asyncErrorCode(async () => dpoStep(ctx, { sums: four, counts: two, ref: new Float32Array(4) })),
      ).toBe("SHAPE_MISMATCH");
      expect(
        await asyncErrorCode(async () =>
          dpoStep(ctx, { sums: four, counts: four, ref: new Float32Array(3) }),
        ),
      ).toBe("SHAPE_MISMATCH");
      expect(() =>
        dpoStep(ctx, { sums: four, counts: four, ref: new Float32Array(4) }, { beta: -1 }),
      ).toThrow(/beta/);
      expect(() =>
        dpoStep(ctx, { sums: four, counts: four, ref: new Float32Array(4) }, { nllWeight: Number.NaN }),
      ).toThrow(/nllWeight/);
      expect(() =>
        dpoStep(ctx, { sums: four, counts: four, ref: new Float32Array(4) }, { lossType: "kto" as never }),
      ).toThrow(/lossType/);
    } finally {
      for (const x of [odd, four, two]) x.destroy();
    }
    await expectClean(ctx);
  });
});
