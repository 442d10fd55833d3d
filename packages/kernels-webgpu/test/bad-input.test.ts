/**
 * Bad input to the loss kernels fails with typed errors that say what was expected and what was
 * received — never a silent NaN, never a GPU crash — and leaks nothing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { dpoLoss } from "../src/kernels/dpo.js";
import { tokenLogprobs, tokenLogprobsBackward } from "../src/kernels/logprob.js";
import { maskedSequenceSums, sequenceLogprobs, sequenceLogprobsBackward } from "../src/kernels/seqreduce.js";
import type { GpuContext, Tensor } from "../src/runtime/context.js";
import { KernelError, type KernelErrorCode } from "../src/runtime/errors.js";
import { createTestContext, expectClean, randomF32 } from "../src/testing.js";

let ctx: GpuContext;
const owned: Tensor[] = [];
beforeAll(async () => {
  ctx = await createTestContext();
});
afterEach(async () => {
  for (const t of owned.splice(0)) t.destroy();
  await expectClean(ctx); // failed ops destroyed their temporaries
});
afterAll(() => ctx.destroy());

function t(data: Float32Array | Int32Array | Uint32Array, shape: number[], label = "x"): Tensor {
  const x = ctx.tensor(data, shape, label);
  owned.push(x);
  return x;
}

async function expectKernelError(
  p: Promise<unknown> | (() => unknown),
  code: KernelErrorCode,
  ...patterns: RegExp[]
): Promise<KernelError> {
  let err: unknown;
  try {
    if (typeof p === "function") await p();
    else await p;
  } catch (e) {
    err = e;
  }
  expect(err, `expected a KernelError ${code}`).toBeInstanceOf(KernelError);
  const k = err as KernelError;
  expect(k.code, k.message).toBe(code);
  for (const re of patterns) expect(k.message).toMatch(re);
  return k;
}

const N = 4;
const V = 10;
const ids = Int32Array.from([1, 2, -100, 9]);

describe("tokenLogprobs bad input", () => {
  it("shape and dtype mismatches", async () => {
    const logits = t(randomF32(N * V, 1), [N, V], "logits");
    await expectKernelError(
      tokenLogprobs(ctx, t(new Int32Array(N * V), [N, V]), ids),
      "DTYPE_MISMATCH",
      /expected f32, received "i32"/,
    );
    await expectKernelError(
      tokenLogprobs(ctx, t(randomF32(N * V, 2), [N * V]), ids),
      "SHAPE_MISMATCH",
      /rank 2 \[N, V\].*received "\[40\]"/,
    );
    await expectKernelError(
      tokenLogprobs(ctx, logits, Int32Array.from([1, 2])),
      "SHAPE_MISMATCH",
      /expected 4 ids.*received "2"/,
    );
    await expectKernelError(
      tokenLogprobs(ctx, logits, new Uint32Array(N) as never),
      "DTYPE_MISMATCH",
      /Int32Array/,
    );
    await expectKernelError(
      tokenLogprobs(ctx, logits, t(new Uint32Array(N), [N])),
      "DTYPE_MISMATCH",
      /targets.*expected i32/,
    );
    await expectKernelError(
      tokenLogprobs(ctx, logits, t(new Int32Array(N + 1), [N + 1])),
      "SHAPE_MISMATCH",
      /shape \[4\]/,
    );
    await expectKernelError(
      tokenLogprobs(ctx, logits, ids, { ignoreIndex: 3 }),
      "ARGUMENT_INVALID",
      /negative/,
    );
    await expectKernelError(
      tokenLogprobs(ctx, [logits, t(randomF32(2 * (V + 1), 2), [2, V + 1], "b1")], new Int32Array(N + 2)),
      "SHAPE_MISMATCH",
      /logits block 1 'b1'/,
      /V = 10 columns like block 0/,
    );
    await expectKernelError(
      tokenLogprobs(ctx, [], new Int32Array(0)),
      "TENSOR_EMPTY",
      /at least one row block/,
    );
    await expectKernelError(
      tokenLogprobs(ctx, logits, ids, { workgroupSize: 48 }),
      "ARGUMENT_INVALID",
      /power of two/,
    );
  });

  it("target ids outside [0, V): on the CPU for host ids, in the kernel for GPU ids", async () => {
    const logits = t(randomF32(N * V, 3), [N, V], "logits");
    await expectKernelError(
      tokenLogprobs(ctx, logits, Int32Array.from([1, 10, 0, 0])),
      "VALUE_OUT_OF_RANGE",
      /position 1/,
      /\[0, 10\)/,
      /received 10/,
    );
    await expectKernelError(
      tokenLogprobs(ctx, logits, Int32Array.from([1, 0, -1, 0])),
      "VALUE_OUT_OF_RANGE",
      /position 2/,
      /received -1/,
    );
    const gpuIds = t(Int32Array.from([0, 1, 12, -5]), [N], "ids");
    await expectKernelError(
      tokenLogprobs(ctx, logits, gpuIds),
      "VALUE_OUT_OF_RANGE",
      /position 2 \(first bad position\)/,
      /received 12/,
      /\[token_logprobs\]/,
    );
    // opting out: the bad row's logp is NaN (loud), never an out-of-bounds read
    const r = await tokenLogprobs(ctx, logits, gpuIds, { checkTargets: false });
    const lp = await r.logp.read();
    expect(Number.isNaN(lp[2])).toBe(true);
    expect(Number.isNaN(lp[3])).toBe(true);
    r.logp.destroy();
    r.lse.destroy();
  });

  it("non-finite logits → VALUE_NON_FINITE naming the kernel and the first bad row", async () => {
    for (const [bad, row] of [
      [Number.NaN, 2],
      [Number.POSITIVE_INFINITY, 1],
    ] as const) {
      const x = randomF32(N * V, 4);
      x[row * V + 5] = bad;
      x[3 * V + 1] = bad;
      await expectKernelError(
        tokenLogprobs(ctx, t(x, [N, V]), ids),
        "VALUE_NON_FINITE",
        /\[token_logprobs\]/,
        new RegExp(`row ${row} `),
      );
    }
    const allNegInf = randomF32(N * V, 5);
    allNegInf.fill(Number.NEGATIVE_INFINITY, 0, V);
    await expectKernelError(tokenLogprobs(ctx, t(allNegInf, [N, V]), ids), "VALUE_NON_FINITE", /row 0 /);
    // a −Inf entry (a masked vocabulary id) in an otherwise finite row is fine
    const oneNegInf = randomF32(N * V, 6);
    oneNegInf[V + 7] = Number.NEGATIVE_INFINITY;
    const r = await tokenLogprobs(ctx, t(oneNegInf, [N, V]), ids);
    expect([...(await r.logp.read())].every(Number.isFinite)).toBe(true);
    r.logp.destroy();
    r.lse.destroy();
    // …unless it is the target's logit
    await expectKernelError(
      tokenLogprobs(ctx, t(oneNegInf, [N, V]), Int32Array.from([0, 7, 0, 0])),
      "VALUE_NON_FINITE",
      /row 1 /,
    );
  });

  it("empty batch → EMPTY; over the limits → DEVICE_LIMIT_EXCEEDED", async () => {
    await expectKernelError(
      tokenLogprobs(ctx, t(new Float32Array(0), [0, V]), new Int32Array(0)),
      "TENSOR_EMPTY",
      /N ≥ 1/,
    );
    await expectKernelError(
      tokenLogprobs(ctx, t(new Float32Array(0), [3, 0]), new Int32Array(3)),
      "TENSOR_EMPTY",
      /received "\[3, 0\]"/,
    );
    const logits = t(randomF32(N * V, 7), [N, V], "logits");
    // a single row larger than the binding cap cannot be chunked
    await expectKernelError(
      tokenLogprobs(ctx, logits, ids, { maxBindingBytes: 4 * V - 4 }),
      "DEVICE_LIMIT_EXCEEDED",
      /within the binding limit of 36 bytes/,
    );
    await expectKernelError(
      tokenLogprobs(ctx, logits, ids, { maxBindingBytes: 2 ** 40 }),
      "ARGUMENT_INVALID",
      /maxBindingBytes/,
    );
    // a logits buffer above the device's maxBufferSize cannot even be allocated
    await expectKernelError(
      () => ctx.empty([70_000, 152_064], "f32", "huge"),
      "DEVICE_LIMIT_EXCEEDED",
      /maxBufferSize/,
    );
  });

  it("backward: bad lse / g, and non-finite g on the GPU", async () => {
    const logits = t(randomF32(N * V, 8), [N, V], "logits");
    const { logp, lse } = await tokenLogprobs(ctx, logits, ids);
    owned.push(logp, lse);
    await expectKernelError(
      tokenLogprobsBackward(ctx, logits, ids, logp, new Float32Array(3)),
      "SHAPE_MISMATCH",
      /expected 4 values/,
    );
    await expectKernelError(
      tokenLogprobsBackward(ctx, logits, ids, t(new Float32Array(5), [5]), new Float32Array(N)),
      "SHAPE_MISMATCH",
      /lse/,
    );
    await expectKernelError(
      tokenLogprobsBackward(ctx, logits, ids, lse, new Int32Array(N) as never),
      "DTYPE_MISMATCH",
      /Float32Array/,
    );
    const g = t(Float32Array.from([1, Number.NaN, 1, 1]), [N], "g");
    await expectKernelError(
      tokenLogprobsBackward(ctx, logits, ids, lse, g),
      "VALUE_NON_FINITE",
      /\[token_logprobs_backward\]/,
      /row 1 /,
    );
  });
});

describe("sequence reductions bad input", () => {
  const logp = () => t(randomF32(12, 9, -3, 0), [12], "logp");

  it("ranges, masks and shapes", async () => {
    const lp = logp();
    await expectKernelError(
      () => sequenceLogprobs(ctx, lp, { ranges: Uint32Array.from([0, 13]) }),
      "VALUE_OUT_OF_RANGE",
      /range 0/,
      /end ≤ 12/,
      /\[0,13\]/,
    );
    await expectKernelError(
      () => sequenceLogprobs(ctx, lp, { ranges: Uint32Array.from([5, 2]) }),
      "VALUE_OUT_OF_RANGE",
      /start ≤ end/,
    );
    await expectKernelError(
      () => sequenceLogprobs(ctx, lp, { ranges: Int32Array.from([-1, 2]) }),
      "VALUE_OUT_OF_RANGE",
    );
    await expectKernelError(
      () => sequenceLogprobs(ctx, lp, { ranges: Uint32Array.from([0, 2, 3]) }),
      "SHAPE_MISMATCH",
      /even length/,
    );
    await expectKernelError(() => sequenceLogprobs(ctx, lp, { ranges: new Uint32Array(0) }), "TENSOR_EMPTY");
    await expectKernelError(() => sequenceLogprobs(ctx, lp), "SHAPE_MISMATCH", /rank 2 \[S, T\]/);
    await expectKernelError(
      () => sequenceLogprobs(ctx, lp, { ranges: Uint32Array.from([0, 4]), mask: new Float32Array(11) }),
      "SHAPE_MISMATCH",
      /12 elements/,
    );
    await expectKernelError(
      () =>
        sequenceLogprobs(ctx, lp, { ranges: Uint32Array.from([0, 4]), mask: t(new Int32Array(12), [12]) }),
      "DTYPE_MISMATCH",
      /f32 or u32/,
    );
    const nanMask = new Float32Array(12).fill(1);
    nanMask[4] = Number.NaN;
    await expectKernelError(
      () => sequenceLogprobs(ctx, lp, { ranges: Uint32Array.from([0, 4]), mask: nanMask }),
      "VALUE_NON_FINITE",
      /mask\[4\]/,
    );
    await expectKernelError(
      () => sequenceLogprobs(ctx, t(new Int32Array(12), [12]), { ranges: Uint32Array.from([0, 4]) }),
      "DTYPE_MISMATCH",
    );
    await expectKernelError(() => sequenceLogprobs(ctx, t(new Float32Array(0), [0, 3])), "TENSOR_EMPTY");
  });

  it("backward needs disjoint ranges and a gradient; K masks need [K, N]", async () => {
    await expectKernelError(
      () =>
        sequenceLogprobsBackward(
          ctx,
          [12],
          { ranges: Uint32Array.from([0, 6, 5, 9]) },
          { gSum: new Float32Array(2) },
        ),
      "ARGUMENT_INVALID",
      /disjoint/,
      /\[\[0,6\],\[5,9\]\]/,
    );
    await expectKernelError(
      () => sequenceLogprobsBackward(ctx, [12], { ranges: Uint32Array.from([0, 6]) }, {}),
      "ARGUMENT_INVALID",
      /gSum and\/or gMean/,
    );
    await expectKernelError(
      () =>
        sequenceLogprobsBackward(
          ctx,
          [12],
          { ranges: Uint32Array.from([0, 6]) },
          { gSum: new Float32Array(2) },
        ),
      "SHAPE_MISMATCH",
      /1 values/,
    );
    const lp = logp();
    await expectKernelError(
      () => maskedSequenceSums(ctx, lp, { ranges: Uint32Array.from([0, 6]) }, new Float32Array(23), 2),
      "SHAPE_MISMATCH",
      /24 elements/,
    );
    await expectKernelError(
      () => maskedSequenceSums(ctx, lp, { ranges: Uint32Array.from([0, 6]) }, new Float32Array(24), 0),
      "ARGUMENT_INVALID",
      /K/,
    );
  });
});

describe("dpoLoss bad input", () => {
  const B = 5;
  const ok = () => ({
    policyChosen: randomF32(B, 10, -9, -1),
    policyRejected: randomF32(B, 11, -9, -1),
    refChosen: randomF32(B, 12, -9, -1),
    refRejected: randomF32(B, 13, -9, -1),
  });

  it("shapes, dtypes and empty batches", async () => {
    await expectKernelError(
      dpoLoss(ctx, { ...ok(), refRejected: new Float32Array(4) }),
      "SHAPE_MISMATCH",
      /refRejected/,
      /5 values/,
      /received "4"/,
    );
    await expectKernelError(
      dpoLoss(ctx, { ...ok(), refChosen: new Int32Array(5) as never }),
      "DTYPE_MISMATCH",
    );
    await expectKernelError(
      dpoLoss(ctx, { ...ok(), policyRejected: t(new Float32Array(6), [6]) }),
      "SHAPE_MISMATCH",
      /shape \[5\]/,
    );
    await expectKernelError(
      dpoLoss(ctx, { ...ok(), policyChosen: t(new Float32Array(10), [5, 2]) }),
      "SHAPE_MISMATCH",
      /rank 1/,
    );
    const e = new Float32Array(0);
    await expectKernelError(
      dpoLoss(ctx, { policyChosen: e, policyRejected: e, refChosen: e, refRejected: e }),
      "TENSOR_EMPTY",
      /at least one pair/,
    );
  });

  it("options outside their domains", async () => {
    await expectKernelError(dpoLoss(ctx, ok(), { beta: 0 }), "ARGUMENT_INVALID", /beta/, /> 0/);
    await expectKernelError(dpoLoss(ctx, ok(), { beta: Number.NaN }), "ARGUMENT_INVALID", /beta/);
    await expectKernelError(
      dpoLoss(ctx, ok(), { lossType: "kto" as never }),
      "ARGUMENT_INVALID",
      /sigmoid \| robust \| hinge \| ipo/,
    );
    await expectKernelError(
      dpoLoss(ctx, ok(), { lossType: "robust", labelSmoothing: 0.5 }),
      "ARGUMENT_INVALID",
      /\[0, 0.5\)/,
    );
    await expectKernelError(dpoLoss(ctx, ok(), { labelSmoothing: 0.7 }), "ARGUMENT_INVALID", /\[0, 0.5\]/);
    await expectKernelError(
      dpoLoss(ctx, ok(), { lossType: "ipo", labelSmoothing: 0.1 }),
      "ARGUMENT_INVALID",
      /ipo has no label smoothing/,
    );
    await expectKernelError(
      dpoLoss(ctx, ok(), { reduction: "max" as never }),
      "ARGUMENT_INVALID",
      /reduction/,
    );
  });

  it("non-finite log-probs: on the CPU for host arrays, in the kernel for tensors", async () => {
    const bad = ok();
    bad.refChosen[3] = Number.NaN;
    await expectKernelError(dpoLoss(ctx, bad), "VALUE_NON_FINITE", /refChosen\[3\]/);
    const x = ok();
    const pc = Float32Array.from(x.policyChosen);
    pc[2] = Number.NEGATIVE_INFINITY;
    pc[4] = Number.NaN;
    await expectKernelError(
      dpoLoss(ctx, { ...x, policyChosen: t(pc, [B]) }),
      "VALUE_NON_FINITE",
      /\[dpo_loss\]/,
      /pair 2 \(first bad pair\)/,
    );
  });
});
