/**
 * Quick throughput check of the fused log-prob forward (not a test): GB/s of logits read.
 * Usage: npx tsx scripts/bench-logprob.ts [N] [V] [workgroupSize...]   (env UNROLL=1,2,4)
 * Reports the median and best of REPS timed calls, wall clock (including the status read-back)
 * and GPU time from timestamp queries, so a loaded machine shows in the spread.
 */
import { tokenLogprobs, tokenLogprobsBackward } from "../src/kernels/logprob.js";
import { createContext } from "../src/runtime/context.js";
import { randomF32 } from "../src/testing.js";

const N = Number(process.argv[2] ?? 1024);
const V = Number(process.argv[3] ?? 32000);
const wgs = process.argv.slice(4).map(Number);
const unrolls = (process.env.UNROLL ?? "4").split(",").map(Number);
const REPS = Number(process.env.REPS ?? 9);
const ctx = await createContext({ label: "bench" });
console.log(ctx.report?.description);
const logits = ctx.tensor(randomF32(N * V, 1, -8, 8), [N, V], "logits");
const targets = ctx.tensor(
  Int32Array.from({ length: N }, (_, i) => (i * 7919) % V),
  [N],
  "targets",
);
const gbs = (ms: number) => ((N * V * 4) / ms / 1e6).toFixed(2);
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { best: s[0] as number, median: s[Math.floor(s.length / 2)] as number };
};
for (const wg of wgs.length ? wgs : [64]) {
  for (const unroll of unrolls) {
    const opts = { workgroupSize: wg, unroll, vec4: process.env.SCALAR ? false : V % 4 === 0 };
    const wall: number[] = [];
    const gpu: number[] = [];
    for (let i = 0; i < REPS + 1; i++) {
      const profiling = ctx.startProfile();
      const t0 = performance.now();
      const r = await tokenLogprobs(ctx, logits, targets, opts); // waits for the status read-back
      const t1 = performance.now();
      const times = profiling ? await ctx.endProfile() : [];
      r.logp.destroy();
      r.lse.destroy();
      if (i === 0) continue; // warm-up (pipeline compile)
      wall.push(t1 - t0);
      gpu.push(times.filter((t) => t.kernel === "token_logprobs").reduce((a, t) => a + t.ns, 0) / 1e6);
    }
    const w = stats(wall);
    const g = stats(gpu);
    console.log(
      `wg ${wg} unroll ${unroll}: N=${N} V=${V}  wall median ${w.median.toFixed(1)} ms (${gbs(w.median)} GB/s), ` +
        `best ${gbs(w.best)} GB/s;  GPU median ${gbs(g.median)} GB/s, best ${gbs(g.best)} GB/s`,
    );
  }
}
{
  // Backward, in place (reads and writes [N, V] once each), default options.
  const { logp, lse } = await tokenLogprobs(ctx, logits, targets);
  const g = new Float32Array(N).fill(1 / N);
  const gpu: number[] = [];
  for (let i = 0; i < Math.min(REPS, 5) + 1; i++) {
    const profiling = ctx.startProfile();
    await tokenLogprobsBackward(ctx, logits, targets, lse, g, { inPlace: true });
    const times = profiling ? await ctx.endProfile() : [];
    if (i > 0) gpu.push(times.reduce((a, t) => a + t.ns, 0) / 1e6);
  }
  const b = stats(gpu);
  console.log(
    `backward in place: GPU median ${b.median.toFixed(1)} ms (${gbs(b.median)} GB/s of logits), best ${gbs(b.best)} GB/s`,
  );
  logp.destroy();
  lse.destroy();
}
logits.destroy();
targets.destroy();
ctx.destroy();
