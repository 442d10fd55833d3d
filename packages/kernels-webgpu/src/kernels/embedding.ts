/**
 * Token embedding: gather `out[t, :] = W[ids[t], :]`, and its backward, a deterministic
 * scatter-add `dW[v, :] += Σ_{t : ids[t] = v} dY[t, :]` without float atomics.
 *
 * Gather: one invocation per output element (flat `t·D + d`, 256 a workgroup, 2-D grid). An id
 * outside `[0, V)` in a GPU id tensor writes NaN to its row (it never reads out of bounds); ids
 * given as an `Int32Array` are checked on the host first, and {@link validateIds} checks a GPU id
 * tensor (throws `VALUE_OUT_OF_RANGE`).
 * Scatter-add: the host groups token positions by id (ids are host data in training: they come
 * from the tokenizer) into CSR form — unique ids, offsets, positions in ascending `t`. One
 * invocation per (unique id, column) sums its rows in that fixed order, so the result is
 * bit-for-bit reproducible. Bindings: dY, unique ids, offsets, positions, dW, params.
 */
import type { GpuContext, Tensor } from "../runtime/context.js";
import { KernelError } from "../runtime/errors.js";
import { defineUniforms } from "../runtime/uniforms.js";
import { fill } from "./elementwise.js";
import {
  assertAccumulateTarget,
  assertDtype,
  assertIdsInRange,
  assertNonEmpty,
  assertPositiveInt,
  assertRank,
  cachedWgsl,
  flatMainWgsl,
  grid1d,
  outputTensor,
  shapeStr,
} from "./op-util.js";

const WG = 256;
/** Gather: `n` = T·D outputs, rows of D, vocabulary V. */
const GATHER = defineUniforms({ n: "u32", D: "u32", V: "u32" });
/** Scatter-add: `n` = U·D outputs (unique ids × D). */
const SCATTER = defineUniforms({ n: "u32", D: "u32" });
/** Id check: `n` ids against `limit`. */
const VALIDATE = defineUniforms({ n: "u32", limit: "u32" });

export function embeddingWgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${GATHER.declare(3, "u")}
${flatMainWgsl(WG, "i", "u.n")}
  let t = i / u.D; let d = i - t * u.D;
  let id = ids[t]; // i32 ids are read as u32: negatives become ≥ 2^31 and fail the test below
  // Out of range: NaN (\`id & 0u\` keeps the bit pattern a runtime value; a NaN constant is rejected).
  if (id >= u.V) { out[i] = bitcast<f32>(0x7fc00000u | (id & 0u)); return; }
  out[i] = w[id * u.D + d];
}`;
}

export function embeddingBackwardWgsl(accumulate: boolean): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> uids: array<u32>;
@group(0) @binding(2) var<storage, read> offs: array<u32>;
@group(0) @binding(3) var<storage, read> pos: array<u32>;
@group(0) @binding(4) var<storage, read_write> dw: array<f32>;
${SCATTER.declare(5, "u")}
${flatMainWgsl(WG, "i", "u.n")}
  let k = i / u.D; let d = i - k * u.D;
  var s = 0.0;
  for (var j = offs[k]; j < offs[k + 1u]; j++) { s += dy[pos[j] * u.D + d]; }
  let o = uids[k] * u.D + d;
  ${accumulate ? "dw[o] = dw[o] + s;" : "dw[o] = s;"}
}`;
}

export function validateIdsWgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read_write> bad: array<atomic<u32>>;
${VALIDATE.declare(2, "u")}
${flatMainWgsl(WG, "i", "u.n")}
  if (ids[i] >= u.limit) { atomicAdd(&bad[0], 1u); atomicMin(&bad[1], i); }
}`;
}

function checkWeight(weight: Tensor, kernel: string): [number, number] {
  assertDtype(weight, ["f32"], "weight", kernel);
  assertRank(weight, [2], "weight", kernel);
  assertNonEmpty(weight, "weight", kernel);
  return weight.shape as [number, number];
}

/**
 * Gather rows of `weight` `[V, D]` for `ids` (shape `[...S]`, i32/u32 tensor or host Int32Array).
 * Returns `[...S, D]` (a new tensor, or `options.out`).
 */
export function embedding(
  ctx: GpuContext,
  weight: Tensor,
  ids: Tensor | Int32Array,
  options: { out?: Tensor; idShape?: readonly number[] } = {},
): Tensor<"f32"> {
  const kernel = "embedding";
  const [V, D] = checkWeight(weight, kernel);
  let idShape: readonly number[];
  if (ids instanceof Int32Array) {
    assertIdsInRange(ids, V, "ids", kernel);
    idShape = options.idShape ?? [ids.length];
    if (idShape.reduce((a, b) => a * b, 1) !== ids.length) {
      throw KernelError.mismatch("SHAPE_MISMATCH", "idShape", `${ids.length} elements`, idShape, kernel);
    }
  } else {
    assertDtype(ids, ["i32", "u32"], "ids", kernel);
    idShape = ids.shape;
  }
  const n = idShape.reduce((a, b) => a * b, 1);
  if (n === 0)
    throw KernelError.mismatch("TENSOR_EMPTY", "ids", "at least one id", shapeStr(idShape), kernel);
  const out = outputTensor(ctx, options.out, [...idShape, D], "embedding:out", kernel);
  const idT = ids instanceof Int32Array ? ctx.tensor(ids, [n], "embedding:ids") : ids;
  ctx.run({
    kernel,
    code: cachedWgsl("embedding", embeddingWgsl),
    bindings: [weight, idT, out, GATHER.data({ n: n * D, D, V }, kernel)],
    workgroups: grid1d(ctx, n * D, WG),
  });
  if (idT !== ids) {
    ctx.flush();
    idT.destroy();
  }
  return out;
}

/** Throw `VALUE_OUT_OF_RANGE` if a GPU id tensor holds an id outside `[0, limit)`. */
export async function validateIds(ctx: GpuContext, ids: Tensor, limit: number): Promise<void> {
  const kernel = "validate_ids";
  assertDtype(ids, ["i32", "u32"], "ids", kernel);
  assertPositiveInt(limit, "limit", kernel);
  if (ids.size === 0) return;
  const bad = ctx.tensor(new Uint32Array([0, 0xffffffff]), [2], "validate_ids:bad");
  try {
    ctx.run({
      kernel,
      code: validateIdsWgsl(),
      bindings: [ids, bad, VALIDATE.data({ n: ids.size, limit }, kernel)],
      workgroups: grid1d(ctx, ids.size, WG),
    });
    const [count = 0, first = 0] = await bad.read();
    if (count > 0) {
      const all = await ids.read();
      throw KernelError.mismatch(
        "VALUE_OUT_OF_RANGE",
        `'${ids.label}'[${first}] (${count} bad id(s))`,
        `ids in [0, ${limit})`,
        all[first],
        kernel,
      );
    }
  } finally {
    bad.destroy();
  }
}

/** CSR grouping of positions by id: unique ids (ascending), offsets, positions (ascending per id). */
export function groupIds(ids: Int32Array): {
  unique: Uint32Array;
  offsets: Uint32Array;
  positions: Uint32Array;
} {
  const order = Array.from(ids.keys()).sort((x, y) => (ids[x] as number) - (ids[y] as number) || x - y);
  const unique: number[] = [];
  const offsets: number[] = [];
  let prev = -1;
  order.forEach((t, j) => {
    const id = ids[t] as number;
    if (id !== prev) {
      unique.push(id);
      offsets.push(j);
      prev = id;
    }
  });
  offsets.push(order.length);
  return {
    unique: Uint32Array.from(unique),
    offsets: Uint32Array.from(offsets),
    positions: Uint32Array.from(order),
  };
}

/**
 * Backward of {@link embedding}: `dW[v, :] = Σ_{t : ids[t] = v} dY[t, :]` for `dY` `[..., D]`
 * (flattened to `[T, D]`, T = `ids.length`). Returns `[vocab, D]` (new, zero elsewhere) or adds
 * into `options.out` with `accumulate` (e.g. tied embeddings, gradient accumulation).
 */
export function embeddingBackward(
  ctx: GpuContext,
  dY: Tensor,
  ids: Int32Array,
  vocab: number,
  options: { out?: Tensor; accumulate?: boolean } = {},
): Tensor<"f32"> {
  const kernel = "embedding_backward";
  assertDtype(dY, ["f32"], "dY", kernel);
  assertPositiveInt(vocab, "vocab", kernel);
  if (ids.length === 0) throw KernelError.mismatch("TENSOR_EMPTY", "ids", "at least one id", "[]", kernel);
  const D = dY.shape[dY.shape.length - 1] ?? 0;
  if (dY.shape.length < 1 || D < 1 || dY.size !== ids.length * D) {
    throw KernelError.mismatch(
      "SHAPE_MISMATCH",
      `dY '${dY.label}'`,
      `[${ids.length}, D] (one row per id)`,
      shapeStr(dY.shape),
      kernel,
    );
  }
  assertIdsInRange(ids, vocab, "ids", kernel);
  assertAccumulateTarget(options.accumulate, options.out, "an `out` tensor", kernel);
  const dW = outputTensor(ctx, options.out, [vocab, D], "embedding:dW", kernel);
  if (options.out && !options.accumulate) fill(ctx, dW, 0);
  const g = groupIds(ids);
  const U = g.unique.length;
  const tU = ctx.tensor(g.unique, [U], "embedding:uids");
  const tO = ctx.tensor(g.offsets, [U + 1], "embedding:offsets");
  const tP = ctx.tensor(g.positions, [ids.length], "embedding:positions");
  ctx.run({
    kernel,
    code: cachedWgsl(`embedding_backward:${options.accumulate === true}`, () =>
      embeddingBackwardWgsl(options.accumulate === true),
    ),
    bindings: [dY, tU, tO, tP, dW, SCATTER.data({ n: U * D, D }, kernel)],
    workgroups: grid1d(ctx, U * D, WG),
  });
  ctx.flush();
  tU.destroy();
  tO.destroy();
  tP.destroy();
  return dW;
}
