/**
 * Quick throughput check of the fused log-prob forward (not a test): GB/s of logits read.
 * Usage: npx tsx scripts/bench-logprob.ts [N] [V] [workgroupSize...]
 */
import { tokenLogprobs } from "../src/kernels/logprob.js";
import { createContext } from "../src/runtime/context.js";
import { randomF32 } from "../src/testing.js";

const N = Number(process.argv[2] ?? 1024);
const V = Number(process.argv[3] ?? 32000);
const wgs = process.argv.slice(4).map(Number);
const ctx = await createContext({ label: "bench" });
console.log(ctx.report?.description);
const logits = ctx.tensor(randomF32(N * V, 1, -8, 8), [N, V], "logits");
const ids = new Int32Array(N).map((_, i) => (i * 7919) % V);
const targets = ctx.tensor(ids, [N], "targets");
const unrolls = (process.env.UNROLL ?? "4").split(",").map(Number);
for (const wg of wgs.length ? wgs : [64])
  for (const unroll of unrolls) {
    const opts = { workgroupSize: wg, unroll, checkFinite: false, checkTargets: false };
    for (let i = 0; i < 2; i++) {
      const r = await tokenLogprobs(ctx, logits, targets, opts);
      await ctx.sync();
      r.logp.destroy();
      r.lse.destroy();
    }
    const reps = 5;
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) {
      const r = await tokenLogprobs(ctx, logits, targets, opts);
      await ctx.sync();
      r.logp.destroy();
      r.lse.destroy();
    }
    const ms = (performance.now() - t0) / reps;
    ctx.startProfile();
    const r = await tokenLogprobs(ctx, logits, targets, opts);
    const times = await ctx.endProfile();
    r.logp.destroy();
    r.lse.destroy();
    const gpuMs = times.reduce((a, t) => a + t.ns, 0) / 1e6;
    const gbs = (x: number) => ((N * V * 4) / x / 1e6).toFixed(2);
    console.log(
      `wg ${wg} unroll ${unroll}: N=${N} V=${V} wall ${ms.toFixed(2)} ms (${gbs(ms)} GB/s), GPU ${gpuMs.toFixed(2)} ms (${gbs(gpuMs)} GB/s)`,
    );
  }
logits.destroy();
targets.destroy();
ctx.destroy();
