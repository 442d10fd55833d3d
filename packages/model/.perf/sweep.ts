import { createContext, matmul, type BlockedConfig } from "@sage/kernels-webgpu";
const ctx = await createContext();
const N = 1024;
const rnd = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
async function time(f: () => void, flops: number) {
  f(); await ctx.sync();
  ctx.startProfile();
  for (let i = 0; i < 4; i++) f();
  const tm = await ctx.endProfile();
  const ns = tm.reduce((a, t) => a + t.ns, 0) / 4;
  return flops / ns;
}
const cfgs: Partial<BlockedConfig>[] = [{}, { rows: 4, cols: 8 }, { rows: 8, cols: 4 }, { rows: 4, cols: 4 }, { rows: 8, cols: 8, wgX: 8, wgY: 8 }, { rows: 8, cols: 8, wgX: 64 }, { rows: 16, cols: 8 }, { rows: 8, cols: 16 }, { rows: 4, cols: 16 }, {rows: 8, cols: 8, wgX: 16, wgY: 4}];
for (const [o, i] of [[128, 128], [384, 128], [128, 384]] as const) {
  const x = ctx.tensor(rnd(N * i), [N, i]);
  const W = ctx.tensor(rnd(o * i), [o, i]);
  const dy = ctx.tensor(rnd(N * o), [N, o]);
  const dW = ctx.tensor(rnd(o * i), [o, i]);
  const fl = 2 * N * o * i;
  for (const cfg of cfgs) {
    const a = await time(() => { const y = matmul(ctx, x, W, { transB: true, blocked: cfg }); ctx.flush(); y.destroy(); }, fl);
    const b = await time(() => { const y = matmul(ctx, dy, W, { blocked: cfg }); ctx.flush(); y.destroy(); }, fl);
    let c = NaN;
    try { c = await time(() => { matmul(ctx, dy, x, { transA: true, out: dW, accumulate: true, blocked: cfg }); }, fl); } catch {}
    console.log(`${o}x${i}`, JSON.stringify(cfg).padEnd(40), a.toFixed(1), b.toFixed(1), c.toFixed(1));
  }
}
ctx.destroy();
