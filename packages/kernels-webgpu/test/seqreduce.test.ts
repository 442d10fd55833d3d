import { describe, expect, it } from "vitest";
import { maskedSequenceSums, sequenceLogprobs, sequenceLogprobsBackward } from "../src/kernels/seqreduce.js";
import {
  maskedSequenceSumsRef,
  rowRanges,
  sequenceLogprobsBackwardRef,
  sequenceLogprobsRef,
} from "../src/reference/seqreduce.js";
import type { GpuContext, Tensor } from "../src/runtime/context.js";
import { assertAllclose, expectClean, randomF32, rng } from "../src/testing.js";
import { useTestContext } from "./context.js";

let ctx: GpuContext;
useTestContext({ clean: false }, (c) => {
  ctx = c;
});

const EPS = 2 ** -24;
/**
 * f32 sums of L terms of magnitude ≤ M: strided partial sums (L/wg terms each) and a log2(wg)
 * tree give |error| ≤ (L/wg + log2 wg + 2)·2^-24·Σ|terms| ≤ (…)·2^-24·L·M.
 */
function sumTol(L: number, M: number, wg = 64): number {
  return 1e-7 + (Math.ceil(L / wg) + Math.log2(wg) + 2) * EPS * L * M;
}

async function readAll(ts: Tensor[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const t of ts) {
    out.push((await t.read()) as Float32Array);
    t.destroy();
  }
  return out;
}

/** Packed batch: S sequences with random lengths (some 0), a prompt part masked out. */
function packed(S: number, seed: number) {
  const r = rng(seed);
  const ranges = new Uint32Array(2 * S);
  const lens: number[] = [];
  let n = 0;
  for (let s = 0; s < S; s++) {
    const gap = Math.floor(r() * 3);
    const len = s === 1 ? 0 : 1 + Math.floor(r() * 300);
    ranges[2 * s] = n + gap;
    ranges[2 * s + 1] = n + gap + len;
    n += gap + len;
    lens.push(len);
  }
  const N = n + 2;
  const logp = randomF32(N, seed + 1, -12, 0);
  const mask = new Uint32Array(N);
  for (let s = 0; s < S; s++) {
    const a = ranges[2 * s] as number;
    const b = ranges[2 * s + 1] as number;
    const prompt = Math.floor((b - a) * r() * 0.5);
    for (let i = a + prompt; i < b; i++) mask[i] = 1;
  }
  if (S > 2) mask.fill(0, ranges[4], ranges[5]); // sequence 2 fully masked
  return { ranges, N, logp, mask };
}

describe("sequenceLogprobs", () => {
  for (const S of [1, 5, 37]) {
    it(`packed batch with ranges and a u32 mask matches the reference (S=${S})`, async () => {
      const { ranges, N, logp, mask } = packed(S, S);
      const lp = ctx.tensor(logp, [N], "logp");
      const { sum, mean, count } = sequenceLogprobs(ctx, lp, { ranges, mask });
      const [gs, gm, gc] = await readAll([sum, mean, count]);
      lp.destroy();
      const ref = sequenceLogprobsRef(logp, ranges, mask);
      assertAllclose(gc!, ref.count, { atol: 0, rtol: 0, label: "count" }); // integers < 2^24: exact
      assertAllclose(gs!, ref.sum, { atol: sumTol(300, 12), rtol: 0, label: "sum" });
      assertAllclose(gm!, ref.mean, { atol: sumTol(300, 12), rtol: 0, label: "mean" });
      if (S > 2) {
        expect(gs![2]).toBe(0);
        expect(gm![2]).toBe(0); // fully masked: mean defined as 0
      }
      for (const v of gs!) expect(v).toBeLessThanOrEqual(0);
      await expectClean(ctx);
    });
  }

  it("padded batch [S, T] with f32 weights (T not a multiple of the workgroup)", async () => {
    const S = 6;
    const T = 77;
    const logp = randomF32(S * T, 3, -5, 0);
    const w = randomF32(S * T, 4, 0, 1).map((x) => (x < 0.3 ? 0 : x));
    const lp = ctx.tensor(logp, [S, T], "logp");
    const wt = ctx.tensor(w, [S, T], "w");
    const { sum, mean, count } = sequenceLogprobs(ctx, lp, { mask: wt });
    const [gs, gm, gc] = await readAll([sum, mean, count]);
    lp.destroy();
    wt.destroy();
    const ref = sequenceLogprobsRef(logp, rowRanges(S, T), w);
    assertAllclose(gc!, ref.count, { atol: sumTol(T, 1), rtol: 0, label: "count" });
    assertAllclose(gs!, ref.sum, { atol: sumTol(T, 5), rtol: 0, label: "sum" });
    // mean = sum/count: relative error of sum plus that of count
    assertAllclose(gm!, ref.mean, { atol: 1e-5, rtol: 1e-5, label: "mean" });
    await expectClean(ctx);
  });

  it("no mask: plain row sums and means", async () => {
    const S = 3;
    const T = 1000;
    const logp = randomF32(S * T, 5, -3, 0);
    const lp = ctx.tensor(logp, [S, T], "logp");
    const { sum, mean, count } = sequenceLogprobs(ctx, lp);
    const [gs, gm, gc] = await readAll([sum, mean, count]);
    lp.destroy();
    const ref = sequenceLogprobsRef(logp, rowRanges(S, T));
    expect([...gc!]).toEqual([T, T, T]);
    assertAllclose(gs!, ref.sum, { atol: sumTol(T, 3), rtol: 0 });
    assertAllclose(gm!, ref.mean, { atol: sumTol(T, 3) / T, rtol: 0 });
    await expectClean(ctx);
  });
});

describe("sequenceLogprobsBackward", () => {
  it("reference backward matches finite differences (sum and mean)", () => {
    const { ranges, N, logp, mask } = packed(4, 9);
    const gSum = [0.3, -1, 2, 0.5];
    const gMean = [1.5, 0.25, -0.75, 3];
    const L = (x: ArrayLike<number>) => {
      const r = sequenceLogprobsRef(x, ranges, mask);
      let a = 0;
      for (let s = 0; s < 4; s++)
        a += (gSum[s] as number) * (r.sum[s] as number) + (gMean[s] as number) * (r.mean[s] as number);
      return a;
    };
    const x = Array.from(logp, Number);
    const h = 1e-5;
    const fd = x.map((_, i) => {
      const p = [...x];
      const m = [...x];
      p[i] = (p[i] as number) + h;
      m[i] = (m[i] as number) - h;
      return (L(p) - L(m)) / (2 * h);
    });
    // L is linear in logp: central differences are exact up to float64 rounding ≈ 1e-16·|L|/h
    assertAllclose(sequenceLogprobsBackwardRef(N, ranges, gSum, gMean, mask), fd, { atol: 1e-8, rtol: 1e-8 });
  });

  it("GPU backward matches the reference (packed, u32 mask) and is zero outside ranges", async () => {
    const S = 9;
    const { ranges, N, mask } = packed(S, 11);
    const gSum = randomF32(S, 12);
    const gMean = randomF32(S, 13);
    const d = sequenceLogprobsBackward(ctx, [N], { ranges, mask }, { gSum, gMean });
    const [got] = await readAll([d]);
    const ref = sequenceLogprobsBackwardRef(N, ranges, gSum, gMean, mask);
    // one f32 division and one add per token
    assertAllclose(got!, ref, { atol: 1e-7, rtol: 4 * EPS, label: "dlogp" });
    expect(got![N - 1]).toBe(0); // trailing padding outside every range
    await expectClean(ctx);
  });

  it("GPU backward, padded batch with f32 weights and only gMean (tensor)", async () => {
    const S = 4;
    const T = 130;
    const w = randomF32(S * T, 14, 0, 2);
    const gMean = randomF32(S, 15);
    const gm = ctx.tensor(gMean, [S], "gMean");
    const d = sequenceLogprobsBackward(ctx, [S, T], { mask: w }, { gMean: gm });
    expect(d.shape).toEqual([S, T]);
    const [got] = await readAll([d]);
    gm.destroy();
    const ref = sequenceLogprobsBackwardRef(S * T, rowRanges(S, T), undefined, gMean, w);
    // count is an f32 sum of T weights: relative error ≤ sumTol(T, 2)/count
    assertAllclose(got!, ref, { atol: 1e-7, rtol: 1e-5, label: "dlogp" });
    await expectClean(ctx);
  });

  it("GPU backward matches finite differences of the GPU forward", async () => {
    const S = 3;
    const T = 5;
    const logp = randomF32(S * T, 16, -2, 0);
    const mask = Uint32Array.from({ length: S * T }, (_, i) => (i % T >= 2 ? 1 : 0));
    const gSum = Float32Array.from([1, -2, 0.5]);
    const gMean = Float32Array.from([0.5, 1, -1]);
    const L = async (x: Float32Array) => {
      const lp = ctx.tensor(x, [S, T], "logp");
      const r = sequenceLogprobs(ctx, lp, { mask });
      const [s, m, c] = await readAll([r.sum, r.mean, r.count]);
      lp.destroy();
      expect(c![0]).toBe(3);
      let a = 0;
      for (let i = 0; i < S; i++)
        a += (gSum[i] as number) * (s![i] as number) + (gMean[i] as number) * (m![i] as number);
      return a;
    };
    const d = sequenceLogprobsBackward(ctx, [S, T], { mask }, { gSum, gMean });
    const [got] = await readAll([d]);
    const h = 1e-2;
    for (let i = 0; i < S * T; i++) {
      const p = Float32Array.from(logp);
      const m = Float32Array.from(logp);
      p[i] = (p[i] as number) + h;
      m[i] = (m[i] as number) - h;
      const fd = ((await L(p)) - (await L(m))) / (2 * h);
      // linear loss: only f32 rounding of L (|L| ≲ 10 → 1e-6) divided by 2h
      expect(Math.abs((got![i] as number) - fd)).toBeLessThan(1e-4);
    }
    await expectClean(ctx);
  });
});

describe("maskedSequenceSums (K dropout masks)", () => {
  it("matches the reference: sums rescaled by the kept fraction", async () => {
    const S = 7;
    const K = 4;
    const { ranges, N, logp, mask } = packed(S, 21);
    const r = rng(22);
    const drop = Float32Array.from({ length: K * N }, () => (r() < 0.1 ? 0 : 1));
    // one (k, s) with everything dropped → kept 0 → sum 0
    drop.fill(0, 3 * N + (ranges[0] as number), 3 * N + (ranges[1] as number));
    const lp = ctx.tensor(logp, [N], "logp");
    const res = maskedSequenceSums(ctx, lp, { ranges, mask }, drop, K);
    expect(res.sum.shape).toEqual([K, S]);
    const [gs, gk, gc] = await readAll([res.sum, res.kept, res.count]);
    lp.destroy();
    const ref = maskedSequenceSumsRef(logp, ranges, drop, K, mask);
    assertAllclose(gk!, ref.kept, { atol: 0, rtol: 0, label: "kept" });
    assertAllclose(gc!, ref.count, { atol: 0, rtol: 0, label: "count" });
    // rescale count/kept ≤ ~1.5 multiplies the sum's error
    assertAllclose(gs!, ref.sum, { atol: 2 * sumTol(300, 12), rtol: 4 * EPS, label: "rescaled sum" });
    expect(gs![3 * S]).toBe(0);
    await expectClean(ctx);
  });

  it("with all-ones masks equals the plain masked sum for every k", async () => {
    const S = 5;
    const K = 3;
    const { ranges, N, logp, mask } = packed(S, 23);
    const lp = ctx.tensor(logp, [N], "logp");
    const dropT = ctx.tensor(new Float32Array(K * N).fill(1), [K, N], "drop");
    const res = maskedSequenceSums(ctx, lp, { ranges, mask }, dropT, K);
    const plain = sequenceLogprobs(ctx, lp, { ranges, mask });
    const [gs] = await readAll([res.sum, res.kept, res.count]);
    const [ps] = await readAll([plain.sum, plain.mean, plain.count]);
    for (let k = 0; k < K; k++) {
      for (let s = 0; s < S; s++) {
        // identical partial sums; the rescale count/kept is exactly 1 (or the sum is 0)
        expect(gs![k * S + s]).toBe(ps![s]);
      }
    }
    lp.destroy();
    dropT.destroy();
    await expectClean(ctx);
  });
});
