import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type GpuContext, swiglu, swigluBackward } from "../src/index.js";
import { swigluBackwardRef, swigluRef } from "../src/reference/swiglu.js";
import { assertAllclose, createTestContext, expectClean, randomF32 } from "../src/testing.js";
import { dot, errorCode, fdCheck, randomF64 } from "./fd.js";

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.destroy());
afterEach(() => expectClean(ctx));

// A handful of f32 ops plus WGSL exp (a few ulps): relative error ~1e-6; atol covers values near 0.
const TOL = { rtol: 1e-5, atol: 1e-6 };

describe("swiglu", () => {
  for (const [shape, lo, hi] of [
    [[1], -1, 1],
    [[3, 257], -8, 8],
    [[2, 5, 33], -200, 200],
  ] as const) {
    it(`forward/backward vs reference, shape [${shape}] in [${lo}, ${hi}]`, async () => {
      const n = shape.reduce((a: number, b: number) => a * b, 1);
      const g = randomF32(n, n, lo, hi);
      const u = randomF32(n, n + 1);
      const dh = randomF32(n, n + 2);
      using tg = ctx.tensor(g, [...shape], "gate");
      using tu = ctx.tensor(u, [...shape], "up");
      using tdh = ctx.tensor(dh, [...shape], "dh");
      using h = swiglu(ctx, tg, tu);
      assertAllclose(await h.read(), swigluRef(g, u), { ...TOL, label: "h" });
      const b = swigluBackward(ctx, tdh, tg, tu);
      using dgate = b.dgate;
      using dup = b.dup;
      const rb = swigluBackwardRef(dh, g, u);
      const dgv = await dgate.read();
      expect(dgv.every(Number.isFinite)).toBe(true);
      assertAllclose(dgv, rb.dgate, { ...TOL, label: "dgate" });
      assertAllclose(await dup.read(), rb.dup, { ...TOL, label: "dup" });
    });
  }

  it("reference backward matches finite differences", () => {
    const g = randomF64(12, 1, -4, 4);
    const u = randomF64(12, 2);
    const G = randomF64(12, 3);
    const { dgate, dup } = swigluBackwardRef(G, g, u);
    fdCheck((x) => dot(swigluRef(x, u), G), g, dgate, "dgate");
    fdCheck((x) => dot(swigluRef(g, x), G), u, dup, "dup");
  });

  it("rejects bad inputs with typed errors", () => {
    using a = ctx.tensor(new Float32Array(4), [4], "a");
    using b = ctx.tensor(new Float32Array(4), [2, 2], "b");
    using i = ctx.tensor(new Int32Array(4), [4], "i");
    expect(errorCode(() => swiglu(ctx, a, b))).toBe("SHAPE_MISMATCH");
    expect(errorCode(() => swiglu(ctx, a, i))).toBe("DTYPE_MISMATCH");
    expect(errorCode(() => swigluBackward(ctx, b, a, a))).toBe("SHAPE_MISMATCH");
  });
});
