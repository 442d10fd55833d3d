/**
 * Rotary position embeddings (HF Llama/Qwen2 `rotate_half` convention) on `[B, T, H, Dh]` or
 * `[T, H, Dh]` with one position id per token (so left padding and KV-cache offsets are just
 * position ids; see `positionsFromMask`).
 *
 * cos/sin come from a table `[P, Dh/2]` built once on the host ({@link ropeTable}: HF's float32
 * angles, float64 cos/sin, rounded to f32) — WGSL `cos`/`sin` are only accurate near [−π, π].
 * Kernel: one invocation per (token, head, i < Dh/2) rotating the pair (i, i + Dh/2); the
 * backward is the inverse rotation (sin negated). A GPU position outside `[0, P)` writes NaN
 * (never an out-of-bounds read); host positions are checked first.
 * Bindings: x, positions, cos, sin, out, params `{ n: N·H·half, H, half, P }`.
 */

import { ropeAngle, ropeInvFreq } from "../reference/rope.js";
import type { GpuContext, Tensor } from "../runtime/context.js";
import { KernelError } from "../runtime/errors.js";
import { defineUniforms } from "../runtime/uniforms.js";
import {
  assertDtype,
  assertFiniteNumber,
  assertIdsInRange,
  assertNonEmpty,
  assertPositiveInt,
  cachedWgsl,
  flatMainWgsl,
  grid1d,
  outputTensor,
  shapeStr,
} from "./op-util.js";

const WG = 256;
const PARAMS = defineUniforms({ n: "u32", H: "u32", half: "u32", P: "u32" });

/** A cos/sin table for positions `[0, maxPositions)`. Caller owns it (`destroy()`). */
export interface RopeTable extends Disposable {
  readonly headDim: number;
  readonly theta: number;
  readonly maxPositions: number;
  readonly cos: Tensor<"f32">;
  readonly sin: Tensor<"f32">;
  destroy(): void;
}

/** Build the `[maxPositions, headDim/2]` cos/sin tables for `theta` (HF `rope_theta`). */
export function ropeTable(
  ctx: GpuContext,
  options: { headDim: number; maxPositions: number; theta?: number },
): RopeTable {
  const kernel = "rope_table";
  const { headDim, maxPositions } = options;
  const theta = options.theta ?? 10000;
  assertPositiveInt(headDim, "headDim", kernel);
  if (headDim % 2 !== 0)
    throw KernelError.mismatch("ARGUMENT_INVALID", "headDim", "an even number", headDim, kernel);
  assertPositiveInt(maxPositions, "maxPositions", kernel);
  assertFiniteNumber(theta, "theta", kernel);
  if (theta <= 1) throw KernelError.mismatch("ARGUMENT_INVALID", "theta", "> 1", theta, kernel);
  const half = headDim / 2;
  const inv = ropeInvFreq(headDim, theta);
  const c = new Float32Array(maxPositions * half);
  const s = new Float32Array(maxPositions * half);
  for (let p = 0; p < maxPositions; p++) {
    for (let i = 0; i < half; i++) {
      const a = ropeAngle(inv[i] as number, p);
      c[p * half + i] = Math.cos(a);
      s[p * half + i] = Math.sin(a);
    }
  }
  const cos = ctx.tensor<"f32">(c, [maxPositions, half], "rope:cos");
  const sin = ctx.tensor<"f32">(s, [maxPositions, half], "rope:sin");
  const destroy = () => {
    cos.destroy();
    sin.destroy();
  };
  return { headDim, theta, maxPositions, cos, sin, destroy, [Symbol.dispose]: destroy };
}

export function ropeWgsl(inverse: boolean): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> pos: array<u32>;
@group(0) @binding(2) var<storage, read> ct: array<f32>;
@group(0) @binding(3) var<storage, read> st: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
${PARAMS.declare(5, "u")}
${flatMainWgsl(WG, "k", "u.n")}
  let half = u.half;
  let row = k / half; let i = k - row * half; // row = n·H + h
  let n = row / u.H;
  let p = pos[n]; // i32 positions read as u32: negatives fail the range test
  let base = row * 2u * half + i;
  if (p >= u.P) { let nan = bitcast<f32>(0x7fc00000u | (p & 0u)); y[base] = nan; y[base + half] = nan; return; }
  let c = ct[p * half + i];
  let s = ${inverse ? "-" : ""}st[p * half + i];
  let x1 = x[base]; let x2 = x[base + half];
  y[base] = x1 * c - x2 * s;
  y[base + half] = x2 * c + x1 * s;
}`;
}

function launchRope(
  ctx: GpuContext,
  kernel: string,
  x: Tensor,
  positions: Tensor | Int32Array,
  table: RopeTable,
  out: Tensor | undefined,
  inverse: boolean,
): Tensor<"f32"> {
  assertDtype(x, ["f32"], "x", kernel);
  assertNonEmpty(x, "x", kernel);
  table.cos.assertAlive(kernel);
  // x holds N tokens (one position each) × H heads × Dh: [B, T, H, Dh], [T, H, Dh] or [B, T, H·Dh].
  const Dh = table.headDim;
  const N = positions instanceof Int32Array ? positions.length : positions.size;
  const last = x.shape[x.shape.length - 1] as number;
  // Token dims: all but [H, Dh] when the last dim is Dh (rank ≥ 3), else all but [H·Dh].
  const tokenDims = last === Dh && x.shape.length >= 3 ? x.shape.slice(0, -2) : x.shape.slice(0, -1);
  const tokens = tokenDims.reduce((a, b) => a * b, 1);
  if (last % Dh !== 0 || tokens !== N || x.shape.length < 2) {
    throw KernelError.mismatch(
      "SHAPE_MISMATCH",
      `x ${shapeStr(x.shape)} with ${N} positions`,
      `one position per token and a last dim that is a multiple of headDim ${Dh} (e.g. [B, T, H, ${Dh}] or [B, T, H·${Dh}])`,
      shapeStr(x.shape),
      kernel,
    );
  }
  const H = x.size / (N * Dh);
  if (positions instanceof Int32Array) assertIdsInRange(positions, table.maxPositions, "positions", kernel);
  else assertDtype(positions, ["i32", "u32"], "positions", kernel);
  if (out && out.buffer === x.buffer)
    throw new KernelError("ARGUMENT_INVALID", "`out` must not alias x", { kernel });
  const y = outputTensor(ctx, out, x.shape, `${kernel}:out`, kernel);
  const pT = positions instanceof Int32Array ? ctx.tensor(positions, [N], "rope:positions") : positions;
  const half = Dh / 2;
  ctx.run({
    kernel,
    code: cachedWgsl(`rope:${inverse}`, () => ropeWgsl(inverse)),
    bindings: [
      x,
      pT,
      table.cos,
      table.sin,
      y,
      PARAMS.data({ n: N * H * half, H, half, P: table.maxPositions }, kernel),
    ],
    workgroups: grid1d(ctx, N * H * half, WG),
  });
  if (pT !== positions) {
    ctx.flush();
    pT.destroy();
  }
  return y;
}

/**
 * Rotate `x` `[B, T, H, Dh]` / `[T, H, Dh]` by its tokens' `positions` (B·T ids, i32 tensor or
 * host Int32Array). Returns a new tensor (or `options.out`).
 */
export function rope(
  ctx: GpuContext,
  x: Tensor,
  positions: Tensor | Int32Array,
  table: RopeTable,
  options: { out?: Tensor } = {},
): Tensor<"f32"> {
  return launchRope(ctx, "rope", x, positions, table, options.out, false);
}

/** Backward of {@link rope} (the inverse rotation): `dx` from `dy`. */
export function ropeBackward(
  ctx: GpuContext,
  dy: Tensor,
  positions: Tensor | Int32Array,
  table: RopeTable,
  options: { out?: Tensor } = {},
): Tensor<"f32"> {
  return launchRope(ctx, "rope_backward", dy, positions, table, options.out, true);
}
