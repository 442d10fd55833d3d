import { describe, expect, it } from "vitest";
import {
  add,
  addInPlace,
  copy,
  copyInto,
  fill,
  type GpuContext,
  reshape,
  scale,
  scaleInPlace,
} from "../src/index.js";
import { addRef, axpyRef, scaleRef } from "../src/reference/elementwise.js";
import { assertAllclose, randomF32 } from "../src/testing.js";
import { useTestContext } from "./context.js";
import { errorCode, kernelErrorCode } from "./fd.js";

let ctx: GpuContext;
useTestContext({ clean: true }, (c) => {
  ctx = c;
});

// One f32 rounding per op: relative error ≤ 2^-24 (fma: one rounding), so rtol 1e-6 is tight.
const TOL = { rtol: 1e-6, atol: 1e-30 };

describe("elementwise", () => {
  for (const n of [1, 255, 257, 1000]) {
    it(`add / addInPlace / scale / copy / fill, n = ${n}`, async () => {
      const a = randomF32(n, n, -1e4, 1e4);
      const b = randomF32(n, n + 1);
      using ta = ctx.tensor(a, [n], "a");
      using tb = ctx.tensor(b, [n], "b");
      using sum = add(ctx, ta, tb);
      assertAllclose(await sum.read(), addRef(a, b), { ...TOL, label: "add" });
      addInPlace(ctx, sum, tb, { alpha: -2.5 });
      assertAllclose(await sum.read(), axpyRef(addRef(a, b), b, -2.5), { rtol: 1e-6, atol: 1e-3 });
      using s = scale(ctx, ta, 0.125);
      assertAllclose(await s.read(), scaleRef(a, 0.125), { ...TOL, label: "scale" });
      using factor = ctx.tensor(new Float32Array([-3]), [1], "factor");
      using s2 = scale(ctx, ta, factor);
      assertAllclose(await s2.read(), scaleRef(a, -3), { ...TOL, label: "scale by tensor" });
      scaleInPlace(ctx, s2, 2);
      scaleInPlace(ctx, s2, factor);
      assertAllclose(await s2.read(), scaleRef(a, 18), { ...TOL, label: "scaleInPlace" });
      using c = copy(ctx, tb);
      expect([...(await c.read())]).toEqual([...b]);
      copyInto(ctx, c, ta);
      expect([...(await c.read())]).toEqual([...a]);
      fill(ctx, c, 0);
      expect((await c.read()).every((v) => v === 0)).toBe(true);
      fill(ctx, c, 1.5);
      expect((await c.read()).every((v) => v === 1.5)).toBe(true);
      addInPlace(ctx, c, tb);
      assertAllclose(await c.read(), addRef(new Float32Array(n).fill(1.5), b), TOL);
    });
  }

  it("folds large sizes into a 2-D grid", async () => {
    // 65535·256 + 3 elements need more than 65535 workgroups of 256.
    const n = 65535 * 256 + 3;
    using t = ctx.empty([n], "f32", "big");
    fill(ctx, t, 2);
    scaleInPlace(ctx, t, 0.5);
    const got = await t.read();
    expect(got[0]).toBe(1);
    expect(got[n - 1]).toBe(1);
    expect(got[65535 * 256 + 1]).toBe(1);
  });

  it("reshape gives a non-owning view over the same buffer", async () => {
    const data = randomF32(12, 3);
    const t = ctx.tensor(data, [2, 6], "t");
    const v = reshape(t, [3, 4]);
    expect(v.shape).toEqual([3, 4]);
    expect([...(await v.read())]).toEqual([...data]);
    scaleInPlace(ctx, v, 2);
    expect([...(await t.read())]).toEqual([...data].map((x) => 2 * x));
    const vv = reshape(v, [12]);
    v.destroy(); // no-op: the base owns the buffer
    expect(v.isAlive).toBe(true);
    expect((await vv.read()).length).toBe(12);
    expect(errorCode(() => reshape(t, [5]))).toBe("SHAPE_MISMATCH");
    // Aliasing is detected through views.
    expect(errorCode(() => add(ctx, t, t, { out: vv }))).toBe("ARGUMENT_INVALID");
    ctx.flush();
    t.destroy();
    expect(vv.isAlive).toBe(false);
    expect(errorCode(() => fill(ctx, vv, 1))).toBe("RESOURCE_DISPOSED");
  });

  it("rejects bad inputs with typed errors", async () => {
    using a = ctx.tensor(new Float32Array(4), [4], "a");
    using b = ctx.tensor(new Float32Array(4), [2, 2], "b");
    using i = ctx.tensor(new Int32Array(4), [4], "i");
    using two = ctx.tensor(new Float32Array(2), [2], "two");
    expect(kernelErrorCode(() => add(ctx, a, b))).toBe("SHAPE_MISMATCH");
    expect(kernelErrorCode(() => add(ctx, a, i))).toBe("DTYPE_MISMATCH");
    expect(kernelErrorCode(() => add(ctx, a, a, { out: a }))).toBe("ARGUMENT_INVALID");
    expect(kernelErrorCode(() => addInPlace(ctx, a, a))).toBe("ARGUMENT_INVALID");
    expect(kernelErrorCode(() => scale(ctx, a, Number.NaN))).toBe("ARGUMENT_INVALID");
    expect(kernelErrorCode(() => scaleInPlace(ctx, a, two))).toBe("SHAPE_MISMATCH");
    expect(kernelErrorCode(() => fill(ctx, i, 0))).toBe("DTYPE_MISMATCH");
    expect(kernelErrorCode(() => copyInto(ctx, a, two))).toBe("SHAPE_MISMATCH");
  });
});
