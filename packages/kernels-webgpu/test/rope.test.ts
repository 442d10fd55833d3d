import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type GpuContext, positionsFromMask, rope, ropeBackward, ropeTable } from "../src/index.js";
import { ropeRef } from "../src/reference/rope.js";
import { assertAllclose, createTestContext, expectClean, randomF32, rng } from "../src/testing.js";
import { dot, errorCode, fdCheck, randomF64 } from "./fd.js";

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.destroy());
afterEach(() => expectClean(ctx));

// Each output is x1·c − x2·s with f32 table entries (≤ 2^-24 relative off the f64 cos/sin of the
// same angle) and two f32 roundings: |err| ≲ 4·2^-24·(|x1| + |x2|) → atol 1e-6 for |x| ≤ 1.
const TOL = { rtol: 1e-6, atol: 1e-6 };

describe("rope", () => {
  for (const [B, T, H, Dh, theta] of [
    [1, 1, 1, 2, 10000],
    [2, 5, 3, 8, 10000],
    [3, 17, 2, 64, 1_000_000],
  ] as const) {
    it(`forward/backward vs reference, B=${B} T=${T} H=${H} Dh=${Dh} θ=${theta}`, async () => {
      const P = 4096;
      using table = ropeTable(ctx, { headDim: Dh, maxPositions: P, theta });
      const r = rng(B * T);
      const pos = Int32Array.from({ length: B * T }, () => Math.floor(r() * P));
      const x = randomF32(B * T * H * Dh, T);
      using tx = ctx.tensor(x, [B, T, H, Dh], "x");
      using y = rope(ctx, tx, pos, table);
      assertAllclose(await y.read(), ropeRef(x, pos, H, Dh, theta), { ...TOL, label: "forward" });
      using tpos = ctx.tensor(pos, [B, T], "pos");
      using y2 = rope(ctx, tx, tpos, table);
      expect([...(await y2.read())]).toEqual([...(await y.read())]);
      using dx = ropeBackward(ctx, tx, tpos, table);
      assertAllclose(await dx.read(), ropeRef(x, pos, H, Dh, theta, true), { ...TOL, label: "backward" });
      // Invariant: backward(forward(x)) = x (rotation is orthogonal).
      using back = ropeBackward(ctx, y, pos, table);
      assertAllclose(await back.read(), x, { rtol: 1e-6, atol: 2e-6 });
    });
  }

  it("[T, H, Dh] layout, left padding and KV-cache offsets are position ids", async () => {
    const mask = Int32Array.from([0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
    const pos = positionsFromMask(mask, 2, 5);
    expect([...pos]).toEqual([1, 1, 0, 1, 2, 0, 1, 2, 3, 4]);
    expect([...positionsFromMask(Int32Array.from([1, 1]), 1, 2, 7)]).toEqual([7, 8]);
    using table = ropeTable(ctx, { headDim: 4, maxPositions: 16 });
    const x = randomF32(10 * 2 * 4, 1);
    using tx = ctx.tensor(x, [10, 2, 4], "x");
    using y = rope(ctx, tx, pos, table);
    assertAllclose(await y.read(), ropeRef(x, pos, 2, 4, 10000), TOL);
    // The same bytes as [B, T, H·Dh] (a batched projection's output) give the same result.
    using tx3 = ctx.tensor(x, [2, 5, 8], "x3");
    using y3 = rope(ctx, tx3, pos, table);
    expect(y3.shape).toEqual([2, 5, 8]);
    expect([...(await y3.read())]).toEqual([...(await y.read())]);
    // Position 0 is the identity.
    const one = randomF32(8, 2);
    using t1 = ctx.tensor(one, [1, 2, 4], "one");
    using y1 = rope(ctx, t1, Int32Array.from([0]), table);
    expect([...(await y1.read())]).toEqual([...one]);
  });

  it("reference: relative-position invariant and finite-difference backward", () => {
    // q·k after RoPE depends only on the position difference.
    const Dh = 8;
    const q = randomF64(Dh, 1);
    const k = randomF64(Dh, 2);
    const s1 = dot(ropeRef(q, [5], 1, Dh, 10000), ropeRef(k, [2], 1, Dh, 10000));
    const s2 = dot(ropeRef(q, [13], 1, Dh, 10000), ropeRef(k, [10], 1, Dh, 10000));
    expect(Math.abs(s1 - s2)).toBeLessThan(1e-5); // f32-rounded angles: ~1e-7 relative per angle
    const x = randomF64(3 * 2 * Dh, 3);
    const G = randomF64(x.length, 4);
    const pos = [0, 3, 11];
    fdCheck((v) => dot(ropeRef(v, pos, 2, Dh, 500), G), x, ropeRef(G, pos, 2, Dh, 500, true), "dx");
  });

  it("matches HF float32 angles at large positions", () => {
    // HF: inv_freq f32, pos·inv_freq f32. Position 100000 with inv_freq[0] = 1 → angle 100000 exactly.
    const y = ropeRef([1, 0], [100000], 1, 2, 10000);
    expect(y[0]).toBeCloseTo(Math.cos(100000), 12);
  });

  it("rejects bad inputs with typed errors; GPU out-of-range positions give NaN", async () => {
    using table = ropeTable(ctx, { headDim: 4, maxPositions: 8 });
    using x = ctx.tensor(new Float32Array(2 * 3 * 4), [2, 3, 4], "x");
    using x6 = ctx.tensor(new Float32Array(2 * 6), [2, 1, 6], "x6");
    expect(errorCode(() => rope(ctx, x, Int32Array.from([0, 8]), table))).toBe("VALUE_OUT_OF_RANGE");
    expect(errorCode(() => rope(ctx, x, Int32Array.from([0]), table))).toBe("SHAPE_MISMATCH");
    expect(errorCode(() => rope(ctx, x6, Int32Array.from([0, 1]), table))).toBe("SHAPE_MISMATCH");
    expect(errorCode(() => ropeTable(ctx, { headDim: 3, maxPositions: 4 }))).toBe("ARGUMENT_INVALID");
    expect(errorCode(() => ropeTable(ctx, { headDim: 4, maxPositions: 0 }))).toBe("ARGUMENT_INVALID");
    expect(errorCode(() => rope(ctx, x, Int32Array.from([0, 1]), table, { out: x }))).toBe(
      "ARGUMENT_INVALID",
    );
    using gpos = ctx.tensor(Int32Array.from([1, -1]), [2], "gpos");
    using y = rope(ctx, x, gpos, table);
    const got = await y.read();
    expect(got.slice(0, 12).every((v) => v === 0)).toBe(true);
    expect(got.slice(12).every((v) => Number.isNaN(v))).toBe(true);
  });
});
