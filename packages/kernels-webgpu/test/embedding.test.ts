import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { embedding, embeddingBackward, fill, type GpuContext, validateIds } from "../src/index.js";
import { embeddingBackwardRef, embeddingRef } from "../src/reference/embedding.js";
import { assertAllclose, createTestContext, expectClean, randomF32, rng } from "../src/testing.js";
import { asyncErrorCode, dot, errorCode, fdCheck, randomF64 } from "./fd.js";

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.destroy());
afterEach(() => expectClean(ctx));

function randomIds(n: number, V: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * V));
}

describe("embedding", () => {
  for (const [T, V, D] of [
    [1, 1, 1],
    [7, 5, 3],
    [300, 17, 33],
    [64, 1000, 8],
  ] as const) {
    it(`gather and scatter-add, T=${T} V=${V} D=${D}`, async () => {
      const w = randomF32(V * D, T + V, -1e4, 1e4);
      const ids = randomIds(T, V, D);
      using tw = ctx.tensor(w, [V, D], "W");
      // Gather is a copy: exact.
      using out = embedding(ctx, tw, ids);
      expect(out.shape).toEqual([T, D]);
      expect([...(await out.read())]).toEqual([...embeddingRef(w, ids, D)].map(Math.fround));
      using tids = ctx.tensor(ids, [T], "ids");
      using out2 = embedding(ctx, tw, tids);
      expect([...(await out2.read())]).toEqual([...(await out.read())]);
      // Backward: sums of ≤ T terms of magnitude ≤ 1 in f32, in ascending t order.
      const dy = randomF32(T * D, 5);
      using tdy = ctx.tensor(dy, [T, D], "dY");
      using dw = embeddingBackward(ctx, tdy, ids, V);
      const want = embeddingBackwardRef(dy, ids, V, D);
      const tol = { rtol: 1e-6, atol: T * 6e-8 };
      assertAllclose(await dw.read(), want, tol);
      // Accumulate into an existing gradient (tied embeddings / gradient accumulation).
      embeddingBackward(ctx, tdy, ids, V, { out: dw, accumulate: true });
      assertAllclose(
        await dw.read(),
        want.map((v) => 2 * v),
        { rtol: 1e-6, atol: T * 1.2e-7 },
      );
      // Overwrite mode zeroes rows that no id touches.
      fill(ctx, dw, 7);
      embeddingBackward(ctx, tdy, ids, V, { out: dw });
      assertAllclose(await dw.read(), want, tol);
    });
  }

  it("is deterministic with many repeats of one id", async () => {
    const T = 2000;
    const D = 5;
    const ids = new Int32Array(T).fill(3);
    const dy = randomF32(T * D, 9, -1e3, 1e3);
    using tdy = ctx.tensor(dy, [T, D], "dY");
    using a = embeddingBackward(ctx, tdy, ids, 4);
    using b = embeddingBackward(ctx, tdy, ids, 4);
    expect([...(await a.read())]).toEqual([...(await b.read())]);
  });

  it("reference backward matches finite differences of Σ G·gather(W)", () => {
    const V = 6;
    const D = 4;
    const ids = Int32Array.from([1, 5, 1, 0, 2]);
    const G = randomF64(ids.length * D, 3);
    const w = randomF64(V * D, 4);
    fdCheck((x) => dot(embeddingRef(x, ids, D), G), w, embeddingBackwardRef(G, ids, V, D), "dW");
  });

  it("rejects bad inputs with typed errors", async () => {
    using w = ctx.tensor(new Float32Array(12), [4, 3], "W");
    using dy = ctx.tensor(new Float32Array(6), [2, 3], "dY");
    using fids = ctx.tensor(new Float32Array(2), [2], "fids");
    expect(errorCode(() => embedding(ctx, w, Int32Array.from([0, 4])))).toBe("VALUE_OUT_OF_RANGE");
    expect(errorCode(() => embedding(ctx, w, Int32Array.from([-1])))).toBe("VALUE_OUT_OF_RANGE");
    expect(errorCode(() => embedding(ctx, w, new Int32Array(0)))).toBe("TENSOR_EMPTY");
    expect(errorCode(() => embedding(ctx, w, fids))).toBe("DTYPE_MISMATCH");
    expect(errorCode(() => embeddingBackward(ctx, dy, Int32Array.from([0, 1, 2]), 4))).toBe("SHAPE_MISMATCH");
    expect(errorCode(() => embeddingBackward(ctx, dy, Int32Array.from([0, 9]), 4))).toBe(
      "VALUE_OUT_OF_RANGE",
    );
    expect(
      errorCode(() => embeddingBackward(ctx, dy, Int32Array.from([0, 1]), 4, { accumulate: true })),
    ).toBe("ARGUMENT_INVALID");
    expect(() => embedding(ctx, w, Int32Array.from([0, 7]))).toThrow(
      /ids\[1\].*expected an integer in \[0, 4\), received 7/,
    );
    // GPU ids: an out-of-range id gives a NaN row (never an out-of-bounds read) and validateIds throws.
    using gids = ctx.tensor(Int32Array.from([1, -2, 3]), [3], "gids");
    using out = embedding(ctx, w, gids);
    const got = await out.read();
    expect(Number.isNaN(got[3])).toBe(true);
    expect(Number.isNaN(got[0])).toBe(false);
    expect(await asyncErrorCode(() => validateIds(ctx, gids, 4))).toBe("VALUE_OUT_OF_RANGE");
    await expect(validateIds(ctx, gids, 4)).rejects.toThrow(/gids'\[1\].*received -2/);
    using okIds = ctx.tensor(Int32Array.from([0, 3]), [2], "ok");
    await validateIds(ctx, okIds, 4);
  });
});
