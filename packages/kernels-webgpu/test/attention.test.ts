import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type AttentionOptions,
  attention,
  attentionBackward,
  type GpuContext,
  kvCacheWrite,
} from "../src/index.js";
import {
  type AttentionDims,
  attentionBackwardRef,
  attentionProbsRef,
  attentionRef,
} from "../src/reference/attention.js";
import { assertAllclose, createTestContext, expectClean, randomF32, rng } from "../src/testing.js";
import { dot, errorCode, fdCheck, randomF64 } from "./fd.js";

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.destroy());
afterEach(() => expectClean(ctx));

// Scores are f32 dot products over Dh ≤ 64 terms of O(1) values (relative error ≲ Dh·2^-24),
// exp/log in WGSL are accurate to a few ulps; outputs are convex combinations of v rows (|v| ≤ 1),
// so atol 2e-5 on out/lse. Gradients sum up to S·(H/Hkv) terms of O(1): atol 1e-4.
const FWD = { rtol: 1e-4, atol: 2e-5 };
const BWD = { rtol: 1e-3, atol: 1e-4 };

interface Case extends AttentionDims {
  maskKind?: "none" | "left" | "right" | "random";
}

function makeMask(c: Case, seed: number): Int32Array | undefined {
  if (!c.maskKind || c.maskKind === "none") return undefined;
  const r = rng(seed);
  const m = new Int32Array(c.B * c.S).fill(1);
  for (let b = 0; b < c.B; b++) {
    const pad = Math.floor(r() * Math.min(3, c.S));
    for (let j = 0; j < c.S; j++) {
      if (c.maskKind === "left" && j < pad) m[b * c.S + j] = 0;
      if (c.maskKind === "right" && j >= c.S - pad) m[b * c.S + j] = 0;
      if (c.maskKind === "random" && r() < 0.3) m[b * c.S + j] = 0;
    }
  }
  return m;
}

async function check(c: Case, seed: number, withBackward = true): Promise<void> {
  const q = randomF32(c.B * c.Tq * c.H * c.Dh, seed);
  const k = randomF32(c.B * c.S * c.Hkv * c.Dh, seed + 1);
  const v = randomF32(c.B * c.S * c.Hkv * c.Dh, seed + 2);
  const mask = makeMask(c, seed + 3);
  const dims: AttentionDims = { ...c, ...(mask ? { mask } : {}) };
  using tq = ctx.tensor(q, [c.B, c.Tq, c.H, c.Dh], "q");
  using tk = ctx.tensor(k, [c.B, c.S, c.Hkv, c.Dh], "k");
  using tv = ctx.tensor(v, [c.B, c.S, c.Hkv, c.Dh], "v");
  using tm = mask ? ctx.tensor(mask, [c.B, c.S], "mask") : undefined;
  const opts: AttentionOptions = {
    ...(c.kvLength !== undefined ? { kvLength: c.kvLength } : {}),
    ...(c.qOffset !== undefined ? { qOffset: c.qOffset } : {}),
    ...(c.causal !== undefined ? { causal: c.causal } : {}),
    ...(tm ? { keyMask: tm } : {}),
  };
  const fwd = attention(ctx, tq, tk, tv, opts);
  using out = fwd.out;
  using lse = fwd.lse;
  const ref = attentionRef(q, k, v, dims);
  const label = JSON.stringify({ ...c, mask: undefined });
  assertAllclose(await out.read(), ref.out, { ...FWD, label: `out ${label}` });
  assertAllclose(await lse.read(), ref.lse, { ...FWD, label: `lse ${label}` });
  if (!withBackward) return;
  const dO = randomF32(q.length, seed + 4);
  using tdO = ctx.tensor(dO, [c.B, c.Tq, c.H, c.Dh], "dO");
  const g = attentionBackward(ctx, tdO, tq, tk, tv, fwd, opts);
  using dq = g.dq;
  using dk = g.dk;
  using dv = g.dv;
  const rb = attentionBackwardRef(dO, q, k, v, dims);
  assertAllclose(await dq.read(), rb.dq, { ...BWD, label: `dq ${label}` });
  assertAllclose(await dk.read(), rb.dk, { ...BWD, label: `dk ${label}` });
  assertAllclose(await dv.read(), rb.dv, { ...BWD, label: `dv ${label}` });
}

describe("attention", () => {
  it("training shapes: causal, GQA, padding masks, size-1 dims", async () => {
    const cases: Case[] = [
      { B: 1, Tq: 1, S: 1, H: 1, Hkv: 1, Dh: 4 },
      { B: 2, Tq: 5, S: 5, H: 2, Hkv: 2, Dh: 8 },
      { B: 2, Tq: 7, S: 7, H: 4, Hkv: 2, Dh: 8, maskKind: "left" },
      { B: 3, Tq: 9, S: 9, H: 6, Hkv: 1, Dh: 16, maskKind: "right" },
      { B: 1, Tq: 33, S: 33, H: 3, Hkv: 3, Dh: 8, maskKind: "random" },
      { B: 1, Tq: 6, S: 6, H: 2, Hkv: 1, Dh: 4, causal: false, maskKind: "random" },
      // The demo model's size (d = 128, 4 heads of 32, 2 KV heads, T = 128).
      { B: 2, Tq: 128, S: 128, H: 4, Hkv: 2, Dh: 32, maskKind: "left" },
    ];
    let seed = 10;
    for (const c of cases) await check(c, (seed += 10));
  });

  it("decoding: new queries against a KV cache with capacity > kvLength", async () => {
    const cases: Case[] = [
      { B: 2, Tq: 1, S: 16, H: 4, Hkv: 2, Dh: 8, kvLength: 9 },
      { B: 1, Tq: 3, S: 12, H: 2, Hkv: 1, Dh: 4, kvLength: 12, maskKind: "left" },
      { B: 2, Tq: 2, S: 10, H: 2, Hkv: 2, Dh: 8, kvLength: 6, qOffset: 4, maskKind: "left" },
    ];
    let seed = 500;
    for (const c of cases) await check(c, (seed += 10));
  });

  it("decoding with a cache equals the last rows of full attention", async () => {
    const B = 2;
    const T = 8;
    const H = 4;
    const Hkv = 2;
    const Dh = 8;
    const S = 12;
    const q = randomF32(B * T * H * Dh, 1);
    const k = randomF32(B * T * Hkv * Dh, 2);
    const v = randomF32(B * T * Hkv * Dh, 3);
    using tq = ctx.tensor(q, [B, T, H, Dh], "q");
    using tk = ctx.tensor(k, [B, T, Hkv, Dh], "k");
    using tv = ctx.tensor(v, [B, T, Hkv, Dh], "v");
    const full = attention(ctx, tq, tk, tv);
    using fo = full.out;
    using _flse = full.lse;
    // Fill a cache of capacity S with the 8 keys in two appends, then query the last token.
    using kc = ctx.empty([B, S, Hkv, Dh], "f32", "kcache");
    using vc = ctx.empty([B, S, Hkv, Dh], "f32", "vcache");
    const R = Hkv * Dh;
    const part = (x: Float32Array, t0: number, t1: number) => {
      const o = new Float32Array(B * (t1 - t0) * R);
      for (let b = 0; b < B; b++) o.set(x.subarray((b * T + t0) * R, (b * T + t1) * R), b * (t1 - t0) * R);
      return o;
    };
    for (const [t0, t1] of [
      [0, 5],
      [5, 8],
    ] as const) {
      using ks = ctx.tensor(part(k, t0, t1), [B, t1 - t0, Hkv, Dh], "knew");
      using vs = ctx.tensor(part(v, t0, t1), [B, t1 - t0, Hkv, Dh], "vnew");
      kvCacheWrite(ctx, kc, ks, t0);
      kvCacheWrite(ctx, vc, vs, t0);
      ctx.flush();
    }
    const qLast = new Float32Array(B * H * Dh);
    for (let b = 0; b < B; b++)
      qLast.set(q.subarray((b * T + T - 1) * H * Dh, (b * T + T) * H * Dh), b * H * Dh);
    using tql = ctx.tensor(qLast, [B, 1, H, Dh], "qlast");
    const dec = attention(ctx, tql, kc, vc, { kvLength: T });
    using dout = dec.out;
    using _dlse = dec.lse;
    const fullOut = await fo.read();
    const want = new Float32Array(B * H * Dh);
    for (let b = 0; b < B; b++)
      want.set(fullOut.subarray((b * T + T - 1) * H * Dh, (b * T + T) * H * Dh), b * H * Dh);
    // Same arithmetic in the same order: identical results.
    expect([...(await dout.read())]).toEqual([...want]);
  });

  it("rank-3 [B, T, H·Dh] inputs with headDim give the same results", async () => {
    const [B, T, H, Hkv, Dh] = [2, 5, 4, 2, 8];
    const q = randomF32(B * T * H * Dh, 1);
    const k = randomF32(B * T * Hkv * Dh, 2);
    const v = randomF32(B * T * Hkv * Dh, 3);
    const dO = randomF32(q.length, 4);
    using q4 = ctx.tensor(q, [B, T, H, Dh], "q4");
    using k4 = ctx.tensor(k, [B, T, Hkv, Dh], "k4");
    using v4 = ctx.tensor(v, [B, T, Hkv, Dh], "v4");
    using d4 = ctx.tensor(dO, [B, T, H, Dh], "d4");
    using q3 = ctx.tensor(q, [B, T, H * Dh], "q3");
    using k3 = ctx.tensor(k, [B, T, Hkv * Dh], "k3");
    using v3 = ctx.tensor(v, [B, T, Hkv * Dh], "v3");
    using d3 = ctx.tensor(dO, [B, T, H * Dh], "d3");
    const mask = Int32Array.from({ length: B * T }, (_, i) => (i === 0 ? 0 : 1));
    const f4 = attention(ctx, q4, k4, v4, { keyMask: mask });
    const f3 = attention(ctx, q3, k3, v3, { keyMask: mask, headDim: Dh });
    expect(f3.out.shape).toEqual([B, T, H * Dh]);
    expect([...(await f3.out.read())]).toEqual([...(await f4.out.read())]);
    const g4 = attentionBackward(ctx, d4, q4, k4, v4, f4, { keyMask: mask });
    const g3 = attentionBackward(ctx, d3, q3, k3, v3, f3, { keyMask: mask, headDim: Dh });
    expect([...(await g3.dk.read())]).toEqual([...(await g4.dk.read())]);
    expect([...(await g3.dq.read())]).toEqual([...(await g4.dq.read())]);
    // Cache append in the rank-3 layout.
    using cache = ctx.empty([B, 7, Hkv * Dh], "f32", "cache");
    kvCacheWrite(ctx, cache, k3, 2);
    const c = await cache.read();
    expect([...c.slice(2 * Hkv * Dh, 7 * Hkv * Dh)]).toEqual([...k.slice(0, 5 * Hkv * Dh)]);
    expect(c.slice(0, 2 * Hkv * Dh).every((x) => x === 0)).toBe(true);
    for (const t of [f4.out, f4.lse, f3.out, f3.lse, g4.dq, g4.dk, g4.dv, g3.dq, g3.dk, g3.dv]) t.destroy();
    expect(errorCode(() => attention(ctx, q3, k3, v3, { headDim: 3 }))).toBe("SHAPE_MISMATCH");
    expect(errorCode(() => attention(ctx, q3, k3, v3))).toBe("SHAPE_MISMATCH");
  });

  it("invariants: rows of P sum to 1; fully masked queries give zeros", async () => {
    const d: AttentionDims = { B: 1, Tq: 4, S: 4, H: 1, Hkv: 1, Dh: 4, mask: [0, 0, 1, 1] };
    const P = attentionProbsRef(randomF64(16, 1), randomF64(16, 2), d);
    expect(P.slice(0, 4).reduce((a, b) => a + b)).toBe(0); // query 0 sees only key 0, which is masked
    for (const i of [2, 3])
      expect(Math.abs(P.slice(4 * i, 4 * i + 4).reduce((a, b) => a + b) - 1)).toBeLessThan(1e-12);
    using tq = ctx.tensor(randomF32(16, 3), [1, 4, 1, 4], "q");
    using tk = ctx.tensor(randomF32(16, 4), [1, 4, 1, 4], "k");
    const fwd = attention(ctx, tq, tk, tk, { keyMask: Int32Array.from([0, 0, 1, 1]) });
    using out = fwd.out;
    using lse = fwd.lse;
    const o = await out.read();
    expect([...o.slice(0, 8)]).toEqual(new Array(8).fill(0));
    expect((await lse.read())[0]).toBe(Math.fround(-1e30));
    expect(o.slice(8).some((x) => x !== 0)).toBe(true);
  });

  it("large scores stay finite (online softmax)", async () => {
    const c: Case = { B: 1, Tq: 6, S: 6, H: 2, Hkv: 1, Dh: 8 };
    const q = randomF32(6 * 2 * 8, 7, -30, 30);
    const k = randomF32(6 * 8, 8, -30, 30);
    const v = randomF32(6 * 8, 9);
    using tq = ctx.tensor(q, [1, 6, 2, 8], "q");
    using tk = ctx.tensor(k, [1, 6, 1, 8], "k");
    using tv = ctx.tensor(v, [1, 6, 1, 8], "v");
    const fwd = attention(ctx, tq, tk, tv);
    using out = fwd.out;
    using lse = fwd.lse;
    const ref = attentionRef(q, k, v, c);
    // Scores up to ~30·30·8/√8 ≈ 2500: lse's absolute error scales with |score|·Dh·2^-24.
    assertAllclose(await out.read(), ref.out, { rtol: 1e-3, atol: 1e-3 });
    assertAllclose(await lse.read(), ref.lse, { rtol: 1e-5, atol: 1e-3 });
  });

  it("reference backward matches finite differences (GQA, mask, offset)", () => {
    const d: AttentionDims = { B: 1, Tq: 3, S: 5, H: 2, Hkv: 1, Dh: 4, kvLength: 5, mask: [1, 0, 1, 1, 1] };
    const q = randomF64(3 * 2 * 4, 1);
    const k = randomF64(5 * 4, 2);
    const v = randomF64(5 * 4, 3);
    const G = randomF64(3 * 2 * 4, 4);
    const g = attentionBackwardRef(G, q, k, v, d);
    fdCheck((x) => dot(attentionRef(x, k, v, d).out, G), q, g.dq, "dq", { samples: 24 });
    fdCheck((x) => dot(attentionRef(q, x, v, d).out, G), k, g.dk, "dk", { samples: 20 });
    fdCheck((x) => dot(attentionRef(q, k, x, d).out, G), v, g.dv, "dv", { samples: 20 });
  });

  it("rejects bad inputs with typed errors", () => {
    using q = ctx.tensor(new Float32Array(2 * 3 * 4 * 8), [2, 3, 4, 8], "q");
    using k = ctx.tensor(new Float32Array(2 * 3 * 3 * 8), [2, 3, 3, 8], "k");
    using k2 = ctx.tensor(new Float32Array(2 * 3 * 2 * 8), [2, 3, 2, 8], "k2");
    using q6 = ctx.tensor(new Float32Array(6), [1, 1, 1, 6], "q6");
    using k6 = ctx.tensor(new Float32Array(6), [1, 1, 1, 6], "k6");
    expect(errorCode(() => attention(ctx, q, k, k))).toBe("SHAPE_MISMATCH");
    expect(errorCode(() => attention(ctx, q, k2, k))).toBe("SHAPE_MISMATCH");
    expect(errorCode(() => attention(ctx, q6, k6, k6))).toBe("ARGUMENT_INVALID");
    expect(errorCode(() => attention(ctx, q, k2, k2, { kvLength: 4 }))).toBe("VALUE_OUT_OF_RANGE");
    expect(errorCode(() => attention(ctx, q, k2, k2, { kvLength: 2 }))).toBe("VALUE_OUT_OF_RANGE");
    expect(errorCode(() => attention(ctx, q, k2, k2, { keyMask: new Int32Array(5) }))).toBe("SHAPE_MISMATCH");
    expect(errorCode(() => kvCacheWrite(ctx, k2, k2, 1))).toBe("VALUE_OUT_OF_RANGE");
    expect(() => attention(ctx, q, k, k)).toThrow(
      /KV heads: expected a divisor of the 4 query heads, received 3/,
    );
  });
});
