import { createContext } from "@sage/kernels-webgpu";
import { logprobBlock, matrix } from "../src/kernels/data.js";
import { naiveMatmul, naiveTokenLogProbs } from "../src/kernels/naive.js";

const ctx = await createContext();
const b = logprobBlock(1024, 32000, 1);
const x = ctx.tensor(b.logits, [1024, 32000]) as any;
const t = ctx.tensor(b.targets, [1024]) as any;
for (let r = 0; r < 2; r++) {
  ctx.startProfile();
  const o = naiveTokenLogProbs(ctx, x, t);
  await ctx.sync();
  console.log(await ctx.endProfile());
  o.destroy();
}
const A = ctx.tensor(matrix(512, 512, 1), [512, 512]) as any;
for (let r = 0; r < 2; r++) {
  ctx.startProfile();
  const c = naiveMatmul(ctx, A, A);
  await ctx.sync();
  console.log(await ctx.endProfile());
  c.destroy();
}
ctx.destroy();
