import { describe, expect, it } from "vitest";
import {
  rowChunks,
  type TokenLogprobsOptions,
  tokenLogprobs,
  tokenLogprobsBackward,
} from "../src/kernels/logprob.js";
import { tokenLogprobsBackwardRef, tokenLogprobsRef } from "../src/reference/logprob.js";
import type { GpuContext } from "../src/runtime/context.js";
import { assertAllclose, expectClean, randomF32, rng } from "../src/testing.js";
import { useTestContext } from "./context.js";

let ctx: GpuContext;
useTestContext({ clean: false }, (c) => {
  ctx = c;
});

const IGNORE = -100;
const EPS = 2 ** -24;

/** Seeded targets in [0, V) with a fraction of ignored positions. */
function makeTargets(N: number, V: number, seed: number, ignoreFrac = 0.2): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: N }, () => (r() < ignoreFrac ? IGNORE : Math.floor(r() * V)));
}

/**
 * Tolerance on lse/logp. The kernel sums V exponentials (each ≤ 1, the row max contributes exactly
 * 1) in f32: ⌈V/(4·wg)⌉ sequential vec4 steps per invocation then a log2(wg)-level tree, so the
 * relative error of the sum, which is the absolute error of log(sum), is at most about
 * (V/wg + log2 wg + 8)·2^-24. The max shift is exact, but rounding lse = m + log(s) and
 * x_t − lse in f32 costs a few ulps of the largest magnitude involved.
 */
function tol(V: number, maxAbs: number, wg = 32): number {
  return 1e-6 + (Math.ceil(V / wg) + Math.log2(wg) + 8) * EPS + 4 * Math.max(1, maxAbs) * EPS;
}

async function forward(
  logitsData: Float32Array,
  N: number,
  V: number,
  targets: Int32Array,
  opts: TokenLogprobsOptions = {},
) {
  using logits = ctx.tensor(logitsData, [N, V], "logits");
  const { logp, lse } = await tokenLogprobs(ctx, logits, targets, opts);
  const out = { logp: await logp.read(), lse: await lse.read() };
  logp.destroy();
  lse.destroy();
  return out;
}

describe("tokenLogprobs forward", () => {
  const shapes: [number, number][] = [
    [1, 1],
    [1, 5],
    [3, 37],
    [7, 1000],
    [65, 129],
    [17, 4100],
    [2, 4096],
    [5, 4099],
    [2, 32_001],
  ];
  for (const [N, V] of shapes) {
    it(`matches the float64 reference (N=${N}, V=${V}, ${V % 4 === 0 ? "vec4" : "scalar"} path)`, async () => {
      const x = randomF32(N * V, N * 1000 + V, -6, 6);
      const t = makeTargets(N, V, V);
      const got = await forward(x, N, V, t);
      const ref = tokenLogprobsRef(x, t, N, V, IGNORE);
      const atol = tol(V, 6);
      assertAllclose(got.lse, ref.lse, { atol, rtol: 0, label: "lse" });
      assertAllclose(got.logp, ref.logp, { atol, rtol: 0, label: "logp" });
      for (let n = 0; n < N; n++) {
        expect(got.logp[n]).toBeLessThanOrEqual(0); // exact: lse ≥ row max ≥ x_t in f32 too
        if (t[n] === IGNORE) expect(got.logp[n]).toBe(0);
      }
      await expectClean(ctx);
    });
  }

  it("every workgroup size / unroll / load variant matches the reference", async () => {
    const N = 3;
    const V = 4100;
    const x = randomF32(N * V, 5, -6, 6);
    const t = makeTargets(N, V, 6, 0);
    const ref = tokenLogprobsRef(x, t, N, V, IGNORE);
    for (const workgroupSize of [32, 256]) {
      for (const unroll of [1, 3]) {
        for (const vec4 of [true, false]) {
          const got = await forward(x, N, V, t, { workgroupSize, unroll, vec4 });
          const label = `wg ${workgroupSize} unroll ${unroll} vec4 ${vec4}`;
          assertAllclose(got.lse, ref.lse, { atol: tol(V, 6, workgroupSize), rtol: 0, label });
          assertAllclose(got.logp, ref.logp, { atol: tol(V, 6, workgroupSize), rtol: 0, label });
        }
      }
    }
    await expectClean(ctx);
  });

  it("is exact enough at logits of ±1e4 (no overflow, no NaN)", async () => {
    const N = 6;
    const V = 513;
    const x = randomF32(N * V, 7, -1e4, 1e4);
    x.fill(1e4, 0, V); // a constant row of +1e4: lse = 1e4 + ln V
    x.fill(-1e4, V, 2 * V); // a constant row of −1e4
    const t = makeTargets(N, V, 8, 0);
    const got = await forward(x, N, V, t);
    const ref = tokenLogprobsRef(x, t, N, V, IGNORE);
    const atol = tol(V, 1e4);
    assertAllclose(got.lse, ref.lse, { atol, rtol: 0, label: "lse" });
    assertAllclose(got.logp, ref.logp, { atol, rtol: 0, label: "logp" });
    expect(Math.abs((got.logp[0] as number) + Math.log(V))).toBeLessThan(atol);
    await expectClean(ctx);
  });

  it("gives logp 0 on fully masked rows and still returns their lse", async () => {
    const N = 5;
    const V = 64;
    const x = randomF32(N * V, 9);
    const t = new Int32Array(N).fill(IGNORE);
    const got = await forward(x, N, V, t);
    expect([...got.logp]).toEqual([0, 0, 0, 0, 0]);
    assertAllclose(got.lse, tokenLogprobsRef(x, t, N, V).lse, { atol: tol(V, 1), rtol: 0 });
    await expectClean(ctx);
  });

  it("skipIgnored: same logp, lse 0 on ignored rows, which are not read (NaN there passes)", async () => {
    const N = 8;
    const V = 1000;
    const x = randomF32(N * V, 21, -5, 5);
    const t = makeTargets(N, V, 22, 0.5);
    const ignored = [...t.keys()].filter((n) => t[n] === IGNORE);
    expect(ignored.length).toBeGreaterThan(0);
    const a = await forward(x, N, V, t);
    for (const n of ignored) x[n * V + 3] = Number.NaN; // would be VALUE_NON_FINITE if read
    const b = await forward(x, N, V, t, { skipIgnored: true });
    expect([...b.logp]).toEqual([...a.logp]);
    for (let n = 0; n < N; n++) expect(b.lse[n]).toBe(t[n] === IGNORE ? 0 : a.lse[n]);
    await expectClean(ctx);
  });

  it("is invariant to adding a constant to a row", async () => {
    const N = 9;
    const V = 300;
    const x = randomF32(N * V, 10, -4, 4);
    const t = makeTargets(N, V, 11, 0);
    const shifted = x.map((v, i) => v + (Math.floor(i / V) % 2 ? 64 : -37.5));
    const a = await forward(x, N, V, t);
    const b = await forward(shifted, N, V, t);
    // x + c is rounded in f32 (ulp(68) = 2^-17): each logit moves by ≤ 2^-18 ≈ 3.8e-6.
    assertAllclose(b.logp, a.logp, { atol: 8e-6 + tol(V, 68), rtol: 0, label: "logp(x+c) vs logp(x)" });
    await expectClean(ctx);
  });

  it("handles V = 152,064 (Qwen2 vocabulary)", async () => {
    const N = 3;
    const V = 152_064;
    const x = randomF32(N * V, 12, -10, 10);
    const t = Int32Array.from([0, V - 1, 77_777]);
    const got = await forward(x, N, V, t);
    const ref = tokenLogprobsRef(x, t, N, V, IGNORE);
    const atol = tol(V, 10);
    assertAllclose(got.lse, ref.lse, { atol, rtol: 0, label: "lse" });
    assertAllclose(got.logp, ref.logp, { atol, rtol: 0, label: "logp" });
    await expectClean(ctx);
  });

  it("accepts GPU targets and chunks rows under a small binding limit", async () => {
    const align = ctx.limits.minStorageBufferOffsetAlignment;
    for (const V of [1000, 37]) {
      // Rows per chunk must keep chunk offsets aligned: a multiple of align / gcd(4V, align).
      const step = align / gcd(4 * V, align);
      const N = 7 * step + 1;
      const maxBindingBytes = 4 * V * 2 * step + 4; // 2·step rows per chunk → 4 chunks, the last short
      const x = randomF32(N * V, 13 + V, -5, 5);
      const t = makeTargets(N, V, 14 + V);
      const whole = await forward(x, N, V, t);
      const logits = ctx.tensor(x, [N, V], "logits");
      const tt = ctx.tensor(t, [N], "targets");
      const before = ctx.dispatchCount;
      const { logp, lse } = await tokenLogprobs(ctx, logits, tt, { maxBindingBytes });
      expect(ctx.dispatchCount - before).toBe(4); // four ranged passes over one buffer
      const chunked = { logp: await logp.read(), lse: await lse.read() };
      for (const d of [logp, lse, logits, tt]) d.destroy();
      expect([...chunked.lse]).toEqual([...whole.lse]); // same per-row arithmetic, bit-identical
      expect([...chunked.logp]).toEqual([...whole.logp]);
    }
    await expectClean(ctx);
  });

  it("accepts logits as row blocks (for batches above maxBufferSize), chunked or not", async () => {
    const V = 300;
    const sizes = [5, 1, 9];
    const N = 15;
    const x = randomF32(N * V, 17, -5, 5);
    const t = makeTargets(N, V, 18);
    const whole = await forward(x, N, V, t);
    let row = 0;
    const blocks = sizes.map((n) => {
      const b = ctx.tensor(x.subarray(row * V, (row + n) * V), [n, V], `block@${row}`);
      row += n;
      return b;
    });
    const step =
      ctx.limits.minStorageBufferOffsetAlignment / gcd(4 * V, ctx.limits.minStorageBufferOffsetAlignment);
    for (const opts of [{}, { maxBindingBytes: 4 * V * 2 * step }]) {
      const { logp, lse } = await tokenLogprobs(ctx, blocks, t, opts);
      expect([...(await logp.read())]).toEqual([...whole.logp]);
      expect([...(await lse.read())]).toEqual([...whole.lse]);
      const g = randomF32(N, 19);
      const ref = tokenLogprobsBackwardRef(x, t, tokenLogprobsRef(x, t, N, V).lse, g, N, V);
      const grads = await tokenLogprobsBackward(ctx, blocks, t, lse, g, opts);
      expect(grads).toHaveLength(3);
      const flat = new Float32Array(N * V);
      let at = 0;
      for (const d of grads) {
        flat.set(await d.read(), at);
        at += d.size;
        d.destroy();
      }
      assertAllclose(flat, ref, { atol: 2 * (tol(V, 5) + 4 * EPS), rtol: 0, label: "block dlogits" });
      logp.destroy();
      lse.destroy();
    }
    for (const b of blocks) b.destroy();
    await expectClean(ctx);
  });

  it("folds more than 65,535 rows into a 2-D grid", async () => {
    const N = 70_001;
    const V = 4;
    const x = randomF32(N * V, 15, -3, 3);
    const t = makeTargets(N, V, 16);
    const got = await forward(x, N, V, t, { workgroupSize: 32 });
    const ref = tokenLogprobsRef(x, t, N, V, IGNORE);
    assertAllclose(got.logp, ref.logp, { atol: tol(V, 3), rtol: 0, label: "logp" });
    await expectClean(ctx);
  });
});

describe("row chunking plan", () => {
  // A stand-in context with a hardware-like 256-byte offset alignment (lavapipe has 16).
  const fake = (align: number) =>
    ({ limits: { minStorageBufferOffsetAlignment: align } }) as unknown as GpuContext;

  it("keeps every chunk offset aligned and every chunk within the cap", () => {
    for (const [align, rows, rowBytes, maxBytes] of [
      [256, 100, 148, 148 * 70],
      [256, 1000, 4 * 152_064, 128 * 2 ** 20],
      [16, 11, 4 * 37, 4 * 37 * 8 + 4],
      [256, 5, 4000, 10 ** 9],
    ] as const) {
      const chunks = rowChunks(fake(align), rows, rowBytes, maxBytes, "k");
      let next = 0;
      for (const c of chunks) {
        expect(c.start).toBe(next);
        expect((c.start * rowBytes) % align).toBe(0);
        expect(c.count * rowBytes).toBeLessThanOrEqual(maxBytes);
        next += c.count;
      }
      expect(next).toBe(rows);
    }
    // 148-byte rows at 256-byte alignment: chunks are multiples of 64 rows
    expect(rowChunks(fake(256), 100, 148, 148 * 70, "k").map((c) => c.count)).toEqual([64, 36]);
    expect(() => rowChunks(fake(256), 100, 148, 148 * 63, "k")).toThrow(/64 row\(s\) of 148 bytes/);
  });
});

describe("tokenLogprobs backward", () => {
  it("the float64 reference backward matches finite differences", () => {
    const N = 3;
    const V = 7;
    const x = Array.from(randomF32(N * V, 20, -2, 2), Number);
    const t = Int32Array.from([2, IGNORE, 6]);
    const g = [0.7, -1.3, 2.1];
    const { lse } = tokenLogprobsRef(x, t, N, V);
    const d = tokenLogprobsBackwardRef(x, t, lse, g, N, V);
    const L = (z: number[]) => {
      const { logp } = tokenLogprobsRef(z, t, N, V);
      return logp.reduce((a, v, i) => a + v * (g[i] as number), 0);
    };
    const h = 1e-6;
    const fd = x.map((_, i) => {
      const p = [...x];
      const m = [...x];
      p[i] = (p[i] as number) + h;
      m[i] = (m[i] as number) - h;
      return (L(p) - L(m)) / (2 * h);
    });
    // central differences in float64: O(h²) truncation + O(ε/h) ≈ 1e-10 rounding
    assertAllclose(d, fd, { atol: 1e-8, rtol: 1e-6, label: "d/dlogits" });
    // rows sum to g·(1 − Σ softmax) = 0
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let v = 0; v < V; v++) s += d[n * V + v] as number;
      expect(Math.abs(s)).toBeLessThan(1e-12);
    }
  });

  for (const [N, V] of [
    [1, 1],
    [4, 37],
    [9, 1000],
    [3, 4100],
    [2, 4099],
  ] as [number, number][]) {
    for (const inPlace of [false, true]) {
      it(`matches the reference backward (N=${N}, V=${V}, ${inPlace ? "in place" : "new buffer"})`, async () => {
        const x = randomF32(N * V, 30 + N + V, -6, 6);
        const t = makeTargets(N, V, 31 + V);
        const g = randomF32(N, 32 + V, -2, 2);
        const logits = ctx.tensor(x, [N, V], "logits");
        const { logp, lse } = await tokenLogprobs(ctx, logits, t);
        const lseHost = await lse.read();
        const d = await tokenLogprobsBackward(ctx, logits, t, lse, g, { inPlace });
        if (inPlace) expect(d).toBe(logits);
        const got = await d.read();
        const ref = tokenLogprobsBackwardRef(x, t, tokenLogprobsRef(x, t, N, V).lse, g, N, V);
        // error of exp(x − lse) is p·|Δlse| ≤ Δlse with Δlse ≤ tol(V); the one-hot term adds ulp(g)
        assertAllclose(got, ref, { atol: 2 * (tol(V, 6) + 4 * EPS), rtol: 0, label: "dlogits" });
        expect(lseHost.length).toBe(N);
        for (let n = 0; n < N; n++) {
          if (t[n] === IGNORE) for (let v = 0; v < V; v++) expect(got[n * V + v]).toBe(0);
        }
        if (!inPlace) d.destroy();
        logits.destroy();
        logp.destroy();
        lse.destroy();
        await expectClean(ctx);
      });
    }
  }

  it("matches finite differences of the GPU forward (f32, h = 1e-2)", async () => {
    const N = 2;
    const V = 12;
    const x = randomF32(N * V, 40, -1, 1);
    const t = Int32Array.from([3, 11]);
    const g = Float32Array.from([1.5, -0.5]);
    const L = async (z: Float32Array) => {
      const { logp } = await forward(z, N, V, t);
      return (logp[0] as number) * 1.5 + (logp[1] as number) * -0.5;
    };
    const logits = ctx.tensor(x, [N, V], "logits");
    const { logp, lse } = await tokenLogprobs(ctx, logits, t);
    const d = await tokenLogprobsBackward(ctx, logits, t, lse, g);
    const got = await d.read();
    d.destroy();
    logits.destroy();
    logp.destroy();
    lse.destroy();
    const h = 1e-2;
    const fd = new Float64Array(N * V);
    for (let i = 0; i < N * V; i++) {
      const p = Float32Array.from(x);
      const m = Float32Array.from(x);
      p[i] = (p[i] as number) + h;
      m[i] = (m[i] as number) - h;
      fd[i] = ((await L(p)) - (await L(m))) / (2 * h);
    }
    // truncation h²/6·|f'''| ≤ 2e-5·|g|; f32 rounding of the loss ≈ 4·2^-24·|L|/h ≈ 1e-5
    assertAllclose(got, fd, { atol: 1e-4, rtol: 0, label: "GPU dlogits vs FD" });
    await expectClean(ctx);
  });

  it("chunks the backward under a small binding limit (both modes)", async () => {
    const N = 10;
    const V = 1000;
    const align = ctx.limits.minStorageBufferOffsetAlignment;
    const step = align / gcd(4 * V, align);
    const maxBindingBytes = 4 * V * 3 * step;
    const x = randomF32(N * V, 50, -5, 5);
    const t = makeTargets(N, V, 51);
    const g = randomF32(N, 52);
    const logits = ctx.tensor(x, [N, V], "logits");
    const { logp, lse } = await tokenLogprobs(ctx, logits, t);
    const whole = await tokenLogprobsBackward(ctx, logits, t, lse, g);
    const chunked = await tokenLogprobsBackward(ctx, logits, t, lse, g, { maxBindingBytes });
    expect([...(await chunked.read())]).toEqual([...(await whole.read())]);
    await tokenLogprobsBackward(ctx, logits, t, lse, g, { maxBindingBytes, inPlace: true });
    expect([...(await logits.read())]).toEqual([...(await whole.read())]);
    for (const d of [whole, chunked, logp, lse, logits]) d.destroy();
    await expectClean(ctx);
  });
});

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
