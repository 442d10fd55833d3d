/**
 * Rough throughput figures for the README (not a test, not the benchmark harness):
 *   cd packages/model && npx tsx --conditions=@sage/source scripts/measure.ts
 * Env: B (8), T (128), N timed steps (3), NEW new tokens (128), FULL=1 to also time full recomputation.
 */
import { createContext, formatAdapter } from "@sage/kernels-webgpu";
import {
  AdamW,
  createConfig,
  initWeights,
  Policy,
  packPromptResponse,
  parameterCount,
  Rng,
} from "../src/index.js";

const ctx = await createContext();
console.log(ctx.report ? formatAdapter(ctx.report) : "unknown adapter");
const B = Number(process.env.B ?? 8);
const T = Number(process.env.T ?? 128);
const c = createConfig({
  hiddenSize: 128,
  intermediateSize: 384,
  numLayers: 4,
  numHeads: 4,
  vocabSize: 256,
  maxPositionEmbeddings: 1024,
});
console.log(
  `config: d=128, 4 layers, 4 heads, I=384, V=256: ${parameterCount(c)} parameters; batch ${B} × ${T}`,
);
const p = Policy.create(ctx, c, initWeights(c, 1));
const opt = new AdamW(p, { lr: 1e-3 });
const rng = new Rng(1);
const batch = packPromptResponse(
  Array.from({ length: B }, () => ({
    prompt: [1],
    response: Array.from({ length: T - 1 }, () => rng.int(256)),
  })),
  0,
);
const step = async () => {
  const f = await p.forwardTrain(batch);
  await opt.backward(
    f,
    batch.tokens.map(() => -1 / f.scoredTokens),
  );
};
await step(); // compile pipelines
const n = Number(process.env.N ?? 3);
let t0 = performance.now();
for (let i = 0; i < n; i++) await step();
const dt = (performance.now() - t0) / 1000;
console.log(
  `train (forward + backward + AdamW): ${((n * B * T) / dt).toFixed(0)} tokens/s, ${((dt / n) * 1000).toFixed(0)} ms/step`,
);
const prompts = Array.from({ length: 4 }, () => [1, 2, 3, 4]);
const NEW = Number(process.env.NEW ?? 128);
await p.generate(prompts, { maxNewTokens: 4 });
t0 = performance.now();
await p.generate(prompts, { maxNewTokens: NEW, stopTokenIds: [] });
const dc = (performance.now() - t0) / 1000;
console.log(`sampling with KV cache, 4 prompts × ${NEW} new tokens: ${((4 * NEW) / dc).toFixed(0)} tokens/s`);
if (process.env.FULL) {
  t0 = performance.now();
  await p.generate(prompts, { maxNewTokens: NEW, stopTokenIds: [], useCache: false });
  const df = (performance.now() - t0) / 1000;
  console.log(
    `full recomputation: ${((4 * NEW) / df).toFixed(0)} tokens/s; cache speed-up ${(df / dc).toFixed(1)}×`,
  );
}
opt.destroy();
p.destroy();
ctx.destroy();
