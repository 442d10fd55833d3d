import { createContext } from "@sage/kernels-webgpu";
import { logprobBlock } from "../src/kernels/data.js";
import { naiveTokenLogProbs } from "../src/kernels/naive.js";

const ctx = await createContext();
const b = logprobBlock(1024, 32000, 1);
const x = ctx.tensor(b.logits, [1024, 32000]) as any;
const t = ctx.tensor(b.targets, [1024]) as any;
await ctx.sync();
for (let r = 0; r < 4; r++) {
  let t0 = performance.now();
  const o = naiveTokenLogProbs(ctx, x, t);
  const t1 = performance.now();
  await ctx.sync();
  const t2 = performance.now();
  o.destroy();
  console.log("record", (t1 - t0).toFixed(1), "sync", (t2 - t1).toFixed(1));
  t0 = performance.now();
  const y = ctx.empty([1024, 32000], "f32", "x");
  y.destroy();
  await ctx.sync();
  console.log("alloc+free", (performance.now() - t0).toFixed(1));
}
ctx.destroy();
