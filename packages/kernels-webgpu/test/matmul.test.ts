import { describe, expect, it } from "vitest";
import { type BlockedConfig, type GpuContext, type MatmulVariant, matmul } from "../src/index.js";
import { matmulRef } from "../src/reference/matmul.js";
import { assertAllclose, randomF32, rng } from "../src/testing.js";
import { useTestContext } from "./context.js";
import { kernelErrorCode } from "./fd.js";

let ctx: GpuContext;
// Every test must leave no live tensor and no GPU error (runs after `using` disposals).
useTestContext({ clean: true }, (c) => {
  ctx = c;
});

// f32 accumulation of K products of values in [-1, 1): error grows like √K·2^-24 per term on
// average and K·2^-24 in the worst case; atol 1e-5·(1 + K/64) covers K up to a few hundred with a
// wide margin while still failing on any indexing error (which gives O(1) differences).
const tol = (K: number) => ({ rtol: 1e-5, atol: 1e-5 * (1 + K / 64) });

interface Case {
  M: number;
  N: number;
  K: number;
  batch?: number;
  aBatched?: boolean;
  bBatched?: boolean;
  transA?: boolean;
  transB?: boolean;
  bias?: boolean;
  accumulate?: boolean;
}

async function check(
  c: Case,
  variant: MatmulVariant,
  seed: number,
  blocked?: Partial<BlockedConfig>,
): Promise<void> {
  const batch = c.batch ?? 1;
  const aB = c.aBatched ?? batch > 1;
  const bB = c.bBatched ?? batch > 1;
  const aData = randomF32((aB ? batch : 1) * c.M * c.K, seed);
  const bData = randomF32((bB ? batch : 1) * c.K * c.N, seed + 1);
  const a2 = c.transA ? [c.K, c.M] : [c.M, c.K];
  const b2 = c.transB ? [c.N, c.K] : [c.K, c.N];
  using a = ctx.tensor(aData, aB ? [batch, ...a2] : a2, "A");
  using b = ctx.tensor(bData, bB ? [batch, ...b2] : b2, "B");
  const biasData = c.bias ? randomF32(c.N, seed + 2) : undefined;
  using bias = biasData ? ctx.tensor(biasData, [c.N], "bias") : undefined;
  const outShape = aB || bB ? [batch, c.M, c.N] : [c.M, c.N];
  const initData = c.accumulate ? randomF32(batch * c.M * c.N, seed + 3) : undefined;
  using init = initData ? ctx.tensor(initData, outShape, "C0") : undefined;
  const out = matmul(ctx, a, b, {
    variant,
    ...(blocked ? { blocked } : {}),
    ...(c.transA ? { transA: true } : {}),
    ...(c.transB ? { transB: true } : {}),
    ...(bias ? { bias } : {}),
    ...(init ? { out: init, accumulate: true } : {}),
  });
  const got = await out.read();
  if (out !== init) out.destroy();
  const want = matmulRef(aData, bData, {
    M: c.M,
    N: c.N,
    K: c.K,
    transA: c.transA === true,
    transB: c.transB === true,
    batch,
    aBatched: aB,
    bBatched: bB,
    ...(biasData ? { bias: biasData } : {}),
    ...(initData ? { accumulate: initData } : {}),
  });
  expect([...(aB || bB ? [batch, c.M, c.N] : [c.M, c.N])]).toEqual(outShape);
  assertAllclose(got, want, { ...tol(c.K), label: `${variant} ${JSON.stringify(c)}` });
}

// Each distinct shader costs an LLVM compile on lavapipe the first time (≈4 s for the default
// 8 × 8 blocked kernel on a cold Mesa cache, < 1 s for 4 × 4). The broad shape sweep therefore
// runs the blocked generator with a 4 × 4 block (same code paths: all transposes, bounds checks;
// unaligned shapes fall back to the tiled kernel); the default 8 × 8 block is checked on the
// layouts the model uses.
const SMALL_BLOCK: Partial<BlockedConfig> = { rows: 4, cols: 4 };
const variants: [MatmulVariant, Partial<BlockedConfig> | undefined][] = [
  ["naive", undefined],
  ["blocked", SMALL_BLOCK],
  ["tiled", undefined],
];

describe("matmul", () => {
  for (const [variant, blocked] of variants) {
    it(`${variant}: all transposes, odd sizes, size-1 dims, bias, batch, accumulate`, async () => {
      const r = rng(7);
      const cases: Case[] = [
        { M: 1, N: 1, K: 1 },
        { M: 1, N: 5, K: 3 },
        { M: 7, N: 1, K: 9 },
        { M: 33, N: 65, K: 17 },
        { M: 64, N: 64, K: 64 },
        { M: 70, N: 36, K: 132 },
        { M: 9, N: 12, K: 8, bias: true },
        { M: 13, N: 11, K: 5, batch: 3 },
        { M: 8, N: 16, K: 12, batch: 2, bBatched: false },
        { M: 5, N: 8, K: 7, batch: 2, aBatched: false, bias: true },
        { M: 19, N: 24, K: 20, accumulate: true },
        { M: 12, N: 10, K: 3, batch: 2, accumulate: true, bias: true },
      ];
      let seed = 100;
      for (const base of cases) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            await check({ ...base, transA, transB }, variant, seed++, blocked);
          }
        }
      }
      // A few random shapes, including multiples of 4 (vec4 paths) and not.
      for (let i = 0; i < 6; i++) {
        const pick = () => 1 + Math.floor(r() * 80);
        await check(
          {
            M: pick(),
            N: pick() * (i % 2 ? 4 : 1),
            K: pick() * (i % 3 ? 4 : 1),
            transA: r() < 0.5,
            transB: r() < 0.5,
          },
          variant,
          seed++,
          blocked,
        );
      }
    });
  }

  it("blocked, default 8 × 8 block: the model's layouts (x·Wᵀ, dY·W, dYᵀ·X), odd sizes, bias, accumulate", async () => {
    const cases: Case[] = [
      { M: 37, N: 24, K: 16, transB: true, bias: true }, // forward projection, vec4 loads
      { M: 37, N: 16, K: 24 }, // dX = dY·W
      { M: 24, N: 16, K: 37, transA: true, accumulate: true }, // dW += dYᵀ·X
      { M: 9, N: 12, K: 8, transB: true, batch: 2, bBatched: false }, // broadcast weight
      { M: 1, N: 4, K: 3, transA: true, transB: false, bias: true },
      { M: 12, N: 5, K: 4, transA: true, transB: true }, // N not a multiple of the block
      { M: 9, N: 13, K: 7, transB: true }, // unaligned: runs the tiled kernel
    ];
    let seed = 900;
    for (const c of cases) await check(c, "blocked", seed++);
  });

  it("blocked config is parameterised (rows/cols/workgroup)", async () => {
    const aData = randomF32(37 * 29, 1);
    const bData = randomF32(29 * 44, 2);
    using a = ctx.tensor(aData, [37, 29], "A");
    using b = ctx.tensor(bData, [29, 44], "B");
    const want = matmulRef(aData, bData, { M: 37, N: 44, K: 29 });
    for (const blocked of [
      { rows: 4, cols: 4, wgX: 8, wgY: 8 },
      { rows: 1, cols: 16, wgX: 64, wgY: 1 },
      { rows: 12, cols: 4, wgX: 4, wgY: 4 },
    ]) {
      using c = matmul(ctx, a, b, { variant: "blocked", blocked });
      assertAllclose(await c.read(), want, { ...tol(29), label: JSON.stringify(blocked) });
    }
    for (const bk of [4, 8, 32]) {
      using c = matmul(ctx, a, b, { variant: "tiled", tiled: { bk } });
      assertAllclose(await c.read(), want, { ...tol(29), label: `bk ${bk}` });
    }
  });

  it("large magnitudes keep relative accuracy", async () => {
    const aData = randomF32(16 * 24, 3, -1e4, 1e4);
    const bData = randomF32(24 * 20, 4, -1e3, 1e3);
    using a = ctx.tensor(aData, [16, 24], "A");
    using b = ctx.tensor(bData, [24, 20], "B");
    using c = matmul(ctx, a, b);
    // Entries are ~√24·1e7·(1/3) in size; f32 has 2^-24 relative error per product and sum.
    assertAllclose(await c.read(), matmulRef(aData, bData, { M: 16, N: 20, K: 24 }), {
      rtol: 1e-4,
      atol: 1e2,
    });
  });

  it("rejects bad inputs with typed errors", async () => {
    using a = ctx.tensor(new Float32Array(6), [2, 3], "A");
    using b = ctx.tensor(new Float32Array(8), [4, 2], "B");
    using bt = ctx.tensor(new Float32Array(12), [4, 3], "Bt");
    using ai = ctx.tensor(new Int32Array(6), [2, 3], "Ai");
    using b3 = ctx.tensor(new Float32Array(24), [2, 3, 4], "B3");
    using a3 = ctx.tensor(new Float32Array(18), [3, 2, 3], "A3");
    using wrongOut = ctx.empty([3, 3], "f32", "out");
    using badBias = ctx.empty([5], "f32", "bias");
    expect(kernelErrorCode(() => matmul(ctx, a, b))).toBe("SHAPE_MISMATCH");
    expect(kernelErrorCode(() => matmul(ctx, ai, b3))).toBe("DTYPE_MISMATCH");
    expect(kernelErrorCode(() => matmul(ctx, a3, b3))).toBe("SHAPE_MISMATCH");
    expect(kernelErrorCode(() => matmul(ctx, a, bt, { transB: true, out: wrongOut }))).toBe("SHAPE_MISMATCH");
    expect(kernelErrorCode(() => matmul(ctx, a, bt, { transB: true, bias: badBias }))).toBe("SHAPE_MISMATCH");
    expect(kernelErrorCode(() => matmul(ctx, a, bt, { transB: true, accumulate: true }))).toBe(
      "ARGUMENT_INVALID",
    );
    expect(kernelErrorCode(() => matmul(ctx, a, b3, { variant: "blocked", blocked: { cols: 6 } }))).toBe(
      "ARGUMENT_INVALID",
    );
    using e = ctx.empty([0, 3], "f32", "E");
    expect(kernelErrorCode(() => matmul(ctx, e, b3))).toBe("TENSOR_EMPTY");
    expect(() => matmul(ctx, a, b)).toThrow(/inner dimensions.*expected equal K \(A gives 3\), received 4/);
  });
});
