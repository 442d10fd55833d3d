import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { adamwStep, clipCoefficient, type GpuContext, gradNorm } from "../src/index.js";
import { adamwRef, clipCoefficientRef, gradNormRef } from "../src/reference/adamw.js";
import { assertAllclose, createTestContext, expectClean, randomF32 } from "../src/testing.js";
import { errorCode } from "./fd.js";

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.destroy());
afterEach(() => expectClean(ctx));

describe("adamw", () => {
  for (const n of [1, 255, 1000]) {
    it(`matches the f64 reference over 5 steps (n = ${n}), with and without a GPU grad scale`, async () => {
      let p: Float64Array = Float64Array.from(randomF32(n, 1));
      let m: Float64Array = new Float64Array(n);
      let v: Float64Array = new Float64Array(n);
      using tp = ctx.tensor(Float32Array.from(p), [n], "p");
      using tm = ctx.tensor(new Float32Array(n), [n], "m");
      using tv = ctx.tensor(new Float32Array(n), [n], "v");
      using scale = ctx.tensor(new Float32Array([0.5]), [1], "scale");
      for (let step = 1; step <= 5; step++) {
        const g = randomF32(n, 10 + step, -2, 2);
        using tg = ctx.tensor(g, [n], "g");
        const lr = 1e-2 / step; // lr passed per step (a schedule)
        const scaled = step % 2 === 0;
        adamwStep(ctx, tp, tg, tm, tv, {
          lr,
          step,
          weightDecay: 0.1,
          ...(scaled ? { gradScale: scale } : {}),
        });
        const r = adamwRef(Float32Array.from(p), g, m, v, {
          lr,
          step,
          weightDecay: 0.1,
          ...(scaled ? { gradScale: 0.5 } : {}),
        });
        p = r.param;
        m = r.m;
        v = r.v;
        ctx.flush();
      }
      // Each step has a few f32 roundings on O(1) values; updates are ~lr in size and the
      // m/√v ratio amplifies relative error of v by ½: 5 steps stay within 1e-6 absolute.
      assertAllclose(await tp.read(), p, { rtol: 1e-6, atol: 2e-6, label: "param" });
      assertAllclose(await tm.read(), m, { rtol: 1e-5, atol: 1e-6, label: "m" });
      assertAllclose(await tv.read(), v, { rtol: 1e-5, atol: 1e-7, label: "v" });
    });
  }

  it("first step moves each weight by ≈ lr·sign(g) (bias correction) plus decoupled decay", async () => {
    using tp = ctx.tensor(new Float32Array([1, 1, 1]), [3], "p");
    using tg = ctx.tensor(new Float32Array([3, -0.01, 0]), [3], "g");
    using tm = ctx.tensor(new Float32Array(3), [3], "m");
    using tv = ctx.tensor(new Float32Array(3), [3], "v");
    adamwStep(ctx, tp, tg, tm, tv, { lr: 0.1, step: 1, weightDecay: 0.5 });
    const got = await tp.read();
    expect(got[0]).toBeCloseTo(0.95 - 0.1, 5);
    expect(got[1]).toBeCloseTo(0.95 + 0.1, 5);
    expect(got[2]).toBeCloseTo(0.95, 6);
  });

  it("global gradient norm is deterministic and matches the reference; clip coefficient", async () => {
    const sizes = [1, 4095, 4097, 20000, 3];
    const gs = sizes.map((n, k) => randomF32(n, 50 + k, -3, 3));
    const ts = gs.map((g, k) => ctx.tensor(g, [g.length], `g${k}`));
    try {
      using norm = gradNorm(ctx, ts);
      using norm2 = gradNorm(ctx, ts);
      const a = (await norm.read())[0]!;
      expect((await norm2.read())[0]).toBe(a);
      // Σ of 28k squares in f32 (chunked sums of ≤ 4096 terms, then ≤ 8 partials): ≲ 1e-6 relative.
      const want = gradNormRef(gs);
      expect(Math.abs(a - want) / want).toBeLessThan(2e-6);
      using c1 = clipCoefficient(ctx, norm, 1);
      using c2 = clipCoefficient(ctx, norm, 1e9);
      expect((await c1.read())[0]).toBeCloseTo(clipCoefficientRef(want, 1), 6);
      expect((await c2.read())[0]).toBe(1);
    } finally {
      ctx.flush();
      for (const t of ts) t.destroy();
    }
  });

  it("rejects bad inputs with typed errors", () => {
    using p = ctx.tensor(new Float32Array(4), [4], "p");
    using g = ctx.tensor(new Float32Array(4), [4], "g");
    using m = ctx.tensor(new Float32Array(4), [4], "m");
    using v = ctx.tensor(new Float32Array(4), [4], "v");
    using v3 = ctx.tensor(new Float32Array(3), [3], "v3");
    using two = ctx.tensor(new Float32Array(2), [2], "two");
    expect(errorCode(() => adamwStep(ctx, p, g, m, v3, { lr: 1, step: 1 }))).toBe("SHAPE_MISMATCH");
    expect(errorCode(() => adamwStep(ctx, p, g, m, m, { lr: 1, step: 1 }))).toBe("ARGUMENT_INVALID");
    expect(errorCode(() => adamwStep(ctx, p, g, m, v, { lr: 1, step: 0 }))).toBe("ARGUMENT_INVALID");
    expect(errorCode(() => adamwStep(ctx, p, g, m, v, { lr: Number.NaN, step: 1 }))).toBe("ARGUMENT_INVALID");
    expect(errorCode(() => adamwStep(ctx, p, g, m, v, { lr: 1, step: 1, beta2: 1 }))).toBe(
      "ARGUMENT_INVALID",
    );
    expect(errorCode(() => adamwStep(ctx, p, g, m, v, { lr: 1, step: 1, gradScale: two }))).toBe(
      "SHAPE_MISMATCH",
    );
    expect(errorCode(() => gradNorm(ctx, []))).toBe("TENSOR_EMPTY");
    expect(errorCode(() => clipCoefficient(ctx, two, 1))).toBe("SHAPE_MISMATCH");
    using one = ctx.tensor(new Float32Array(1), [1], "one");
    expect(errorCode(() => clipCoefficient(ctx, one, 0))).toBe("ARGUMENT_INVALID");
  });
});
