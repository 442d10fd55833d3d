import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type GpuContext, rmsnorm, rmsnormBackward } from "../src/index.js";
import { rmsnormBackwardRef, rmsnormRef } from "../src/reference/rmsnorm.js";
import { assertAllclose, createTestContext, expectClean, randomF32 } from "../src/testing.js";
import { dot, errorCode, fdCheck, randomF64 } from "./fd.js";

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.destroy());
afterEach(() => expectClean(ctx));

// Outputs are O(|w|) after normalisation; the row reduction of D squares in f32 has relative error
// ≲ D·2^-24 worst case (≈ 1e-5 for D = 200), inverseSqrt adds a few ulps: rtol/atol 2e-5 here.
// dweight sums R rows of O(1) terms: atol grows with R.
describe("rmsnorm", () => {
  for (const [R, D, scale] of [
    [1, 1, 1],
    [3, 7, 1],
    [65, 100, 1e3],
    [130, 200, 1e-2],
  ] as const) {
    it(`forward and backward vs f64 reference, R=${R} D=${D} |x|~${scale}`, async () => {
      const eps = 1e-5;
      const x = randomF32(R * D, R + D, -scale, scale);
      const w = randomF32(D, 2, 0.5, 1.5);
      const dy = randomF32(R * D, 3);
      using tx = ctx.tensor(x, [R, D], "x");
      using tw = ctx.tensor(w, [D], "w");
      using tdy = ctx.tensor(dy, [R, D], "dy");
      const f = rmsnorm(ctx, tx, tw, { eps });
      using y = f.y;
      using rstd = f.rstd;
      const ref = rmsnormRef(x, w, D, eps);
      assertAllclose(await y.read(), ref.y, { rtol: 2e-5, atol: 2e-5, label: "y" });
      assertAllclose(await rstd.read(), ref.rstd, { rtol: 2e-5, atol: 0, label: "rstd" });
      const b = rmsnormBackward(ctx, tdy, tx, tw, rstd);
      using dx = b.dx;
      using dweight = b.dweight;
      const rb = rmsnormBackwardRef(dy, x, w, D, eps);
      // dx ~ rstd·O(1): scale tolerances by 1/|x|.
      assertAllclose(await dx.read(), rb.dx, { rtol: 1e-4, atol: 2e-5 / scale, label: "dx" });
      assertAllclose(await dweight.read(), rb.dweight, { rtol: 1e-4, atol: 1e-5 * R, label: "dweight" });
      // Accumulating a second backward doubles dweight.
      const b2 = rmsnormBackward(ctx, tdy, tx, tw, rstd, { dweightOut: dweight, accumulate: true });
      b2.dx.destroy();
      assertAllclose(
        await dweight.read(),
        rb.dweight.map((v) => 2 * v),
        { rtol: 1e-4, atol: 2e-5 * R },
      );
    });
  }

  it("reference backward matches finite differences", () => {
    const D = 5;
    const eps = 1e-6;
    const x = randomF64(3 * D, 1);
    const w = randomF64(D, 2);
    const G = randomF64(3 * D, 3);
    const { dx, dweight } = rmsnormBackwardRef(G, x, w, D, eps);
    fdCheck((v) => dot(rmsnormRef(v, w, D, eps).y, G), x, dx, "dx");
    fdCheck((v) => dot(rmsnormRef(x, v, D, eps).y, G), w, dweight, "dweight");
  });

  it("invariant: output is unchanged by scaling a row (eps = 0)", async () => {
    const x = randomF32(40, 4);
    using tx = ctx.tensor(x, [4, 10], "x");
    using tx2 = ctx.tensor(
      x.map((v) => v * 1024),
      [4, 10],
      "x2",
    );
    using tw = ctx.tensor(randomF32(10, 5), [10], "w");
    const a = rmsnorm(ctx, tx, tw, { eps: 0 });
    const b = rmsnorm(ctx, tx2, tw, { eps: 0 });
    assertAllclose(await a.y.read(), await b.y.read(), { rtol: 1e-6, atol: 1e-7 });
    for (const t of [a.y, a.rstd, b.y, b.rstd]) t.destroy();
  });

  it("rejects bad inputs with typed errors", () => {
    using x = ctx.tensor(new Float32Array(6), [2, 3], "x");
    using w = ctx.tensor(new Float32Array(2), [2], "w");
    using w3 = ctx.tensor(new Float32Array(3), [3], "w3");
    using r = ctx.tensor(new Float32Array(3), [3], "r");
    expect(errorCode(() => rmsnorm(ctx, x, w))).toBe("SHAPE_MISMATCH");
    expect(errorCode(() => rmsnorm(ctx, x, w3, { eps: Number.NaN }))).toBe("ARGUMENT_INVALID");
    expect(errorCode(() => rmsnorm(ctx, x, w3, { eps: -1 }))).toBe("ARGUMENT_INVALID");
    expect(errorCode(() => rmsnormBackward(ctx, x, x, w3, r))).toBe("SHAPE_MISMATCH");
    expect(errorCode(() => rmsnormBackward(ctx, x, x, w3, w, { accumulate: true }))).toBe("ARGUMENT_INVALID");
  });
});
