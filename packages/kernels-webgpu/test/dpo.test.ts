import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DPO_METRIC_NAMES,
  DPO_RESULT_FIELDS,
  type DpoLossType,
  type DpoOptions,
  type DpoResult,
  dpoLoss,
  readDpoMetrics,
} from "../src/kernels/dpo.js";
import { dpoLossRef, dpoPairRef } from "../src/reference/dpo.js";
import type { GpuContext } from "../src/runtime/context.js";
import { assertAllclose, createTestContext, expectClean, randomF32 } from "../src/testing.js";

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.destroy());

type Batch = [Float32Array, Float32Array, Float32Array, Float32Array];

function batch(B: number, seed: number, lo = -60, hi = -1): Batch {
  return [0, 1, 2, 3].map((k) => randomF32(B, seed * 10 + k, lo, hi)) as Batch;
}

async function run(b: Batch, opts: DpoOptions) {
  const r = await dpoLoss(
    ctx,
    { policyChosen: b[0], policyRejected: b[1], refChosen: b[2], refRejected: b[3] },
    opts,
  );
  const out = await readResult(r);
  return out;
}

/** Only the mean loss (reads 32 bytes). */
async function meanLoss(b: Batch, opts: DpoOptions): Promise<number> {
  const r = await dpoLoss(
    ctx,
    { policyChosen: b[0], policyRejected: b[1], refChosen: b[2], refRejected: b[3] },
    opts,
  );
  const m = await readDpoMetrics(r.metrics);
  for (const t of Object.values(r)) t.destroy();
  return m.loss;
}

async function readResult(r: DpoResult) {
  const names = DPO_RESULT_FIELDS;
  const o = {} as Record<(typeof names)[number], Float32Array>;
  for (const n of names) {
    o[n] = await r[n].read();
    r[n].destroy();
  }
  const metrics = await readDpoMetrics(r.metrics);
  r.metrics.destroy();
  return { ...o, metrics };
}

/**
 * Tolerances. Inputs are exact f32; logits = (π_w − π_l) − (ρ_w − ρ_l) costs ≤ 3 roundings of
 * magnitude ≤ 2·60, so |Δlogits| ≤ 3·2^-24·120 ≈ 2.2e-5 and |Δm| ≤ β·that. Losses have slope
 * ≤ 1 in m (sigmoid, robust ≤ 1/(1−2ε), hinge) or 2|dev| in logits (ipo, |dev| ≤ 120 + 1/(2β)),
 * plus a few ulps of themselves; gradients have slope ≤ β²/4 in logits.
 */
const TOL = { atol: 3e-4, rtol: 1e-5 };

const CASES: { lossType: DpoLossType; beta: number; labelSmoothing: number }[] = [
  { lossType: "sigmoid", beta: 0.1, labelSmoothing: 0 },
  { lossType: "sigmoid", beta: 0.5, labelSmoothing: 0.1 },
  { lossType: "robust", beta: 0.1, labelSmoothing: 0.2 },
  { lossType: "robust", beta: 0.3, labelSmoothing: 0 },
  { lossType: "hinge", beta: 0.1, labelSmoothing: 0 },
  { lossType: "ipo", beta: 0.1, labelSmoothing: 0 },
  { lossType: "ipo", beta: 1, labelSmoothing: 0 },
];

describe("dpoLoss", () => {
  for (const c of CASES) {
    for (const B of [1, 37, 1000]) {
      it(`${c.lossType} β=${c.beta} ε=${c.labelSmoothing} B=${B} matches the float64 reference`, async () => {
        const b = batch(B, B + c.beta * 10);
        const got = await run(b, c);
        const ref = dpoLossRef(b[0], b[1], b[2], b[3], c);
        for (const k of ["losses", "margins", "chosenRewards", "rejectedRewards"] as const) {
          assertAllclose(got[k], ref[k], { ...TOL, label: k });
        }
        // gradients of the mean: the per-pair slope tolerance divided by B
        for (const k of ["gradChosen", "gradRejected"] as const) {
          assertAllclose(got[k], ref[k], { atol: 3e-4 / B, rtol: 1e-5, label: k });
        }
        // metrics: f32 tree sums of B terms (|term| ≤ 5000 for ipo) → ≤ (B/256 + 8)·2^-24 relative
        for (const name of DPO_METRIC_NAMES) {
          const want = ref.metrics[name];
          expect(Math.abs(got.metrics[name] - want), name).toBeLessThanOrEqual(3e-4 + 1e-5 * Math.abs(want));
        }
        await expectClean(ctx);
      });
    }
  }

  it("loss is ln 2 when policy = reference (sigmoid, any ε; robust too)", async () => {
    const B = 50;
    const [pw, pl] = batch(B, 3);
    for (const opts of [
      { lossType: "sigmoid", beta: 0.1, labelSmoothing: 0 },
      { lossType: "sigmoid", beta: 0.7, labelSmoothing: 0.3 },
      { lossType: "robust", beta: 0.2, labelSmoothing: 0.25 },
    ] as const) {
      const got = await run([pw, pl, pw, pl], opts);
      for (let i = 0; i < B; i++) {
        expect(got.margins[i]).toBe(0);
        // f32 ln 2 via min(0,0) − log1p(1): within 2 ulps
        expect(Math.abs((got.losses[i] as number) - Math.LN2)).toBeLessThan(2e-7);
      }
      expect(Math.abs(got.metrics.loss - Math.LN2)).toBeLessThan(4e-7);
      expect(got.metrics["rewards/accuracies"]).toBe(0);
    }
    await expectClean(ctx);
  });

  it("swapping chosen and rejected negates the margin exactly", async () => {
    const b = batch(123, 4);
    const a = await run(b, { beta: 0.25 });
    const s = await run([b[1], b[0], b[3], b[2]], { beta: 0.25 });
    for (let i = 0; i < 123; i++) expect(s.margins[i]).toBe(-(a.margins[i] as number));
    await expectClean(ctx);
  });

  it("is stable at |m| = 1e4 (no overflow, exact limits)", async () => {
    const pw = Float32Array.from([0, -1e4, 0, -5000]);
    const pl = Float32Array.from([-1e4, 0, 0, 5000]);
    const zero = new Float32Array(4);
    const s = await run([pw, pl, zero, zero], { beta: 1 });
    expect([...s.margins]).toEqual([1e4, -1e4, 0, -1e4]);
    expect(s.losses[0]).toBe(0);
    expect(s.losses[1]).toBe(1e4);
    expect(s.losses[3]).toBe(1e4);
    expect([...s.gradChosen].map((g) => g * 4 + 0)).toEqual([0, -1, -0.5, -1]);
    for (const t of ["robust", "hinge", "ipo"] as const) {
      const r = await run([pw, pl, zero, zero], {
        beta: 1,
        lossType: t,
        labelSmoothing: t === "robust" ? 0.1 : 0,
      });
      const ref = dpoLossRef(pw, pl, zero, zero, {
        beta: 1,
        lossType: t,
        labelSmoothing: t === "robust" ? 0.1 : 0,
      });
      assertAllclose(r.losses, ref.losses, { rtol: 1e-6, atol: 1e-6, label: `${t} losses` });
      assertAllclose(r.gradChosen, ref.gradChosen, { rtol: 1e-6, atol: 1e-7, label: `${t} grads` });
    }
    await expectClean(ctx);
  });

  it("reference gradients match finite differences (every loss type)", () => {
    const h = 1e-6;
    for (const c of CASES) {
      for (const logits of [-7.3, -0.4, 0.35, 2.2, 13]) {
        if (c.lossType === "hinge" && Math.abs(c.beta * logits - 1) < 1e-3) continue; // kink
        const fd =
          (dpoPairRef(logits + h, c.lossType, c.beta, c.labelSmoothing)[0] -
            dpoPairRef(logits - h, c.lossType, c.beta, c.labelSmoothing)[0]) /
          (2 * h);
        const [, g] = dpoPairRef(logits, c.lossType, c.beta, c.labelSmoothing);
        // O(h²) truncation + O(1e-16/h) rounding, loss values ≤ ~300
        expect(Math.abs(g - fd), `${c.lossType} at ${logits}`).toBeLessThan(1e-7 * (1 + Math.abs(g)) + 3e-8);
      }
    }
  });

  it("GPU gradients match finite differences of the GPU loss (mean reduction)", async () => {
    const B = 3;
    const b = batch(B, 5, -3, -0.5);
    for (const c of CASES) {
      const got = await run(b, c);
      const h = 1e-2;
      for (const [which, key] of [
        [0, "gradChosen"],
        [1, "gradRejected"],
      ] as const) {
        for (let i = 0; i < B; i++) {
          const p = b.map((x) => Float32Array.from(x)) as Batch;
          const m = b.map((x) => Float32Array.from(x)) as Batch;
          p[which][i] = (p[which][i] as number) + h;
          m[which][i] = (m[which][i] as number) - h;
          const fd = ((await meanLoss(p, c)) - (await meanLoss(m, c))) / (2 * h);
          // truncation ≤ h²/6·|ℓ'''| (ipo: 0; sigmoid: ≤ β³/10) + f32 rounding of the mean loss ≈ 2·2^-24·|ℓ|/h
          expect(Math.abs((got[key][i] as number) - fd), `${c.lossType} ${key}[${i}]`).toBeLessThan(2e-4);
        }
      }
    }
    await expectClean(ctx);
  });

  it("reduction 'sum' scales gradients by B, accepts tensors as inputs", async () => {
    const B = 20;
    const b = batch(B, 6);
    const ts = b.map((x, i) => ctx.tensor(x, [B], `in${i}`));
    const r = await dpoLoss(
      ctx,
      { policyChosen: ts[0]!, policyRejected: ts[1]!, refChosen: ts[2]!, refRejected: ts[3]! },
      { reduction: "sum" },
    );
    const got = await readResult(r);
    const ref = dpoLossRef(b[0], b[1], b[2], b[3], { reduction: "sum" });
    assertAllclose(got.gradChosen, ref.gradChosen, { atol: 1e-6, rtol: 1e-5 });
    for (const t of ts) t.destroy();
    await expectClean(ctx);
  });
});
