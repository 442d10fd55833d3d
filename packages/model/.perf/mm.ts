import { createContext, matmul } from "@sage/kernels-webgpu";
const ctx = await createContext();
const N = 1024;
const rnd = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
async function time(name: string, f: () => void, flops: number) {
  f(); await ctx.sync();
  ctx.startProfile();
  for (let i = 0; i < 5; i++) f();
  const tm = await ctx.endProfile();
  const ns = tm.reduce((a, t) => a + t.ns, 0) / 5;
  console.log(name.padEnd(40), (ns / 1e6).toFixed(2), "ms", (flops / ns).toFixed(2), "GFLOP/s");
}
for (const [o, i] of [[128, 128], [384, 128], [128, 384], [256, 128]] as const) {
  const x = ctx.tensor(rnd(N * i), [N, i]);
  const W = ctx.tensor(rnd(o * i), [o, i]);
  const dy = ctx.tensor(rnd(N * o), [N, o]);
  const dW = ctx.tensor(rnd(o * i), [o, i]);
  const fl = 2 * N * o * i;
  await time(`fwd x·Wᵀ [${N},${i}]→${o}`, () => { const y = matmul(ctx, x, W, { transB: true }); ctx.flush(); y.destroy(); }, fl);
  await time(`dx = dy·W`, () => { const y = matmul(ctx, dy, W); ctx.flush(); y.destroy(); }, fl);
  await time(`dW += dyᵀ·x (transA)`, () => { matmul(ctx, dy, x, { transA: true, out: dW, accumulate: true }); }, fl);
}
ctx.destroy();
