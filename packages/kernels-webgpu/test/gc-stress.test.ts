/**
 * dawn.node 0.6.2 crashes at random (segfault, futex/pthread errors in
 * `CallbackTaskManager::Flush`) when the JS wrapper of the GPU instance, adapter, device or queue
 * is garbage-collected while work is pending (see ../shared/docs/webgpu-notes.md). The context
 * holds all four; this test submits many passes and map-reads under heavy allocation with
 * forced `gc()` between awaits, through contexts whose only reference is the context itself.
 * Needs `--expose-gc` (set in vitest.config.ts): it FAILS when `gc` is missing, never skips.
 */
import { describe, expect, it } from "vitest";
import { dpoLoss, readDpoMetrics } from "../src/kernels/dpo.js";
import { tokenLogprobs } from "../src/kernels/logprob.js";
import { sequenceLogprobs } from "../src/kernels/seqreduce.js";
import type { GpuContext } from "../src/runtime/context.js";
import { createTestContext, expectClean, randomF32 } from "../src/testing.js";

function forceGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== "function") {
    throw new Error("gc() is not exposed: run vitest with execArgv ['--expose-gc'] (see vitest.config.ts)");
  }
  gc();
}

/** Garbage: many small objects and typed arrays, dropped at once. */
function churn(seed: number): number {
  const junk: { a: number; b: Float64Array }[] = [];
  for (let i = 0; i < 20_000; i++) junk.push({ a: i + seed, b: new Float64Array(8) });
  return junk.length;
}

/** A context made in a function frame that keeps nothing but the context (no gpu/adapter refs). */
async function detachedContext(): Promise<GpuContext> {
  return createTestContext({ label: "gc-stress" });
}

describe("GC stress (dawn.node object lifetimes)", () => {
  it("gc is exposed to the test process", () => {
    expect(typeof (globalThis as { gc?: unknown }).gc, "run with --expose-gc").toBe("function");
  });

  it("survives many submits and reads under heavy allocation with forced gc() between awaits", async () => {
    let checksum = 0;
    for (let round = 0; round < 3; round++) {
      const ctx = await detachedContext();
      forceGc();
      // the context is what keeps the wrappers alive
      expect(ctx.gpu).toBeDefined();
      expect(ctx.adapter).toBeDefined();
      expect(ctx.queue).toBe(ctx.device.queue);
      const N = 16;
      const V = 256;
      const targets = Int32Array.from({ length: N }, (_, i) => (i * 31) % V);
      for (let it = 0; it < 25; it++) {
        checksum += churn(it);
        const logits = ctx.tensor(randomF32(N * V, round * 100 + it, -4, 4), [N, V], "logits");
        const pending = tokenLogprobs(ctx, logits, targets); // submits, then mapAsync on the status
        forceGc();
        const { logp, lse } = await pending;
        forceGc();
        const seq = sequenceLogprobs(ctx, logp, { ranges: Uint32Array.from([0, 8, 8, 16]) });
        ctx.flush();
        forceGc();
        await ctx.queue.onSubmittedWorkDone();
        forceGc();
        const sums = await seq.sum.read();
        const dpo = await dpoLoss(ctx, {
          policyChosen: Float32Array.of(sums[0] as number),
          policyRejected: Float32Array.of(sums[1] as number),
          refChosen: Float32Array.of(0),
          refRejected: Float32Array.of(0),
        });
        forceGc();
        const m = await readDpoMetrics(dpo.metrics);
        expect(Number.isFinite(m.loss)).toBe(true);
        for (const t of [logits, logp, lse, seq.sum, seq.mean, seq.count, ...Object.values(dpo)]) t.destroy();
        checksum += churn(-it);
      }
      await expectClean(ctx);
      ctx.destroy();
      forceGc();
    }
    expect(checksum).toBe(3 * 25 * 2 * 20_000);
  });
});
