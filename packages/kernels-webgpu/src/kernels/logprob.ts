/**
 * Fused token log-probabilities: `logp[n] = logits[n, t_n] − logsumexp(logits[n, :])`, and its
 * backward `dlogits[n, v] = g[n] · (1[v = t_n] − exp(logits[n, v] − lse[n]))`.
 *
 * Algorithm (forward): one workgroup per row. Each invocation streams a strided slice of the row
 * (vec4 loads when V % 4 == 0, scalars otherwise) keeping an online (max, sum) pair — per vec4 it
 * takes the block max, rescales the running sum once, then adds four `exp(x − m)`, so one pass over
 * the logits and ~1.25 exp per element. The (max, sum) pairs are merged by a shared-memory tree.
 * Invocation 0 gathers `logits[n, t_n]` and writes `logp` and `lse`. No softmax is materialised.
 *
 * Bad input is flagged by the kernel itself at no extra pass: a `status` buffer of two u32 holds
 * the first row whose log-sum-exp or target logit is non-finite (NaN/±Inf anywhere in a row makes
 * its lse non-finite; −Inf entries in an otherwise finite row are legal, masked vocabulary) and the
 * first row whose target id is outside `[0, V)` and not the ignore index (its `logp` is NaN, never
 * an out-of-bounds read). The op reads the 8 bytes back once per call when checks are on.
 *
 * Chunking: a logits tensor larger than `maxStorageBufferBindingSize` is processed in row chunks,
 * each bound as a sub-range `{ buffer, offset, size }` of the same tensor (a `BindingRange`,
 * which `ctx.run` binds like any other storage binding: no copy, no second [N, V] buffer, passes
 * recorded in order with the rest); small per-row buffers are bound whole and indexed with a
 * row-offset uniform. Grids above 65535 rows fold into 2-D dispatch. Logits above
 * `maxBufferSize` (4 GiB − 1 on lavapipe; 16k × 152k f32 is 9.7 GB) can be passed as a list of
 * row blocks.
 */
import type { Binding, GpuContext, Tensor } from "../runtime/context.js";
import { KernelError } from "../runtime/errors.js";
import { defineUniforms } from "../runtime/uniforms.js";
import { assertShape as checkShape, checkWorkgroupSize, shapeStr } from "./op-util.js";

// ------------------------------------------------------------------ shared helpers (loss kernels)

/** Workgroup grid for `n` workgroups: 1-D up to the per-dimension limit, 2-D above it. */
export function grid(ctx: GpuContext, n: number): [number, number] {
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  const x = Math.min(n, max);
  const y = Math.ceil(n / Math.max(1, x));
  if (y > max) {
    throw KernelError.mismatch("DEVICE_LIMIT_EXCEEDED", "workgroups", `at most ${max * max}`, n);
  }
  return [x, y];
}

export function checkTensor(
  t: unknown,
  dtypes: readonly string[],
  what: string,
  kernel: string,
): asserts t is Tensor {
  if (!t || typeof t !== "object" || !("buffer" in t) || !("dtype" in t)) {
    throw KernelError.mismatch("ARGUMENT_INVALID", what, "a Tensor", t, kernel);
  }
  const tt = t as Tensor;
  tt.assertAlive(kernel);
  if (!dtypes.includes(tt.dtype)) {
    throw KernelError.mismatch(
      "DTYPE_MISMATCH",
      `${what} '${tt.label}'`,
      dtypes.join(" or "),
      tt.dtype,
      kernel,
    );
  }
}

/** Upload host data as a temporary tensor, or return the caller's tensor (not owned). */
export function asTensor(
  ctx: GpuContext,
  x: Tensor | Float32Array | Int32Array | Uint32Array,
  shape: readonly number[],
  label: string,
): { t: Tensor; owned: boolean } {
  if (ArrayBuffer.isView(x)) return { t: ctx.tensor(x, shape, label), owned: true };
  return { t: x, owned: false };
}

/** Row chunks of a [rows, rowBytes] buffer so that each chunk binds within `maxBytes` at an aligned offset. */
export function rowChunks(
  ctx: GpuContext,
  rows: number,
  rowBytes: number,
  maxBytes: number,
  kernel: string,
): { start: number; count: number }[] {
  if (rows * rowBytes <= maxBytes) return [{ start: 0, count: rows }];
  const align = ctx.limits.minStorageBufferOffsetAlignment;
  const step = align / gcd(rowBytes, align);
  const per = Math.floor(Math.floor(maxBytes / rowBytes) / step) * step;
  if (per < 1) {
    throw KernelError.mismatch(
      "DEVICE_LIMIT_EXCEEDED",
      "row chunk",
      `${step} row(s) of ${rowBytes} bytes (offset alignment ${align}) within the binding limit of ${maxBytes} bytes`,
      `${step * rowBytes} bytes`,
      kernel,
    );
  }
  const out: { start: number; count: number }[] = [];
  for (let s = 0; s < rows; s += per) out.push({ start: s, count: Math.min(per, rows - s) });
  return out;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

// ------------------------------------------------------------------ WGSL

export interface LogprobKernelParams {
  /** Invocations per workgroup (one workgroup per row); a power of two. */
  workgroupSize: number;
  /** vec4 loads (requires V % 4 == 0). */
  vec4: boolean;
  /** vec4 loads per loop step in the forward (one rescale of the running sum per step). Default 1. */
  unroll?: number;
}

const NEG_MAX = "-3.4028234663852886e38";

/** Both kernels: `rows` rows of this pass starting at global row `rowOffset`, V columns. */
const PARAMS = defineUniforms({
  rows: "u32",
  V: "u32",
  rowOffset: "u32",
  ignoreIndex: "i32",
  skipIgnored: "u32",
});

/** Helpers and the start of `main` shared by both kernels: one workgroup per row `r < P.rows`. */
function rowMain(WG: number): string {
  return /* wgsl */ `
fn isFinite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
fn bitsF32(b: u32) -> f32 { return bitcast<f32>(b); } // not const-evaluated: NaN allowed

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= P.rows) { return; }
  let V = P.V;`;
}

/** WGSL of the forward kernel. Bindings: logits, targets, logp, lse, status, params. */
export function logprobForwardWgsl({ workgroupSize: WG, vec4, unroll: U = 1 }: LogprobKernelParams): string {
  const elem = vec4 ? "vec4<f32>" : "f32";
  // Each step loads U vec4 values per invocation (vec4 mode: U vec4s at stride WG; scalar mode:
  // 4·U scalars at stride WG packed into U vec4s), takes their max, rescales the running sum once
  // and adds the exponentials. A tail loop takes the remaining single elements.
  const load = (k: number) =>
    vec4
      ? `logits[base + j + ${k * WG}u]`
      : `vec4<f32>(${[0, 1, 2, 3].map((c) => `logits[base + j + ${(4 * k + c) * WG}u]`).join(", ")})`;
  const per = vec4 ? U : 4 * U; // array elements per invocation per step
  const tail = vec4
    ? `let v = logits[base + j];
    let mn = max(m, max(max(v.x, v.y), max(v.z, v.w)));
    let e = exp(v - vec4<f32>(mn));
    s = s * exp(m - mn) + ((e.x + e.y) + (e.z + e.w));`
    : `let x = logits[base + j];
    let mn = max(m, x);
    s = s * exp(m - mn) + exp(x - mn);`;
  const body = /* wgsl */ `
  let len = ${vec4 ? "V / 4u" : "V"};
  let base = r * len;
  let end = select(len, 0u, skipRow); // skipped ignored rows are not read
  var j = lid;
  for (; j + ${(per - 1) * WG}u < end; j += ${per * WG}u) {
${Array.from({ length: U }, (_, k) => `    let a${k} = ${load(k)};`).join("\n")}
    let q = ${Array.from({ length: U }, (_, k) => `a${k}`).reduce((x, y) => `max(${x}, ${y})`)};
    let mn = max(m, max(max(q.x, q.y), max(q.z, q.w)));
    let mv = vec4<f32>(mn);
    let e = ${Array.from({ length: U }, (_, k) => `exp(a${k} - mv)`).join(" + ")};
    s = s * exp(m - mn) + ((e.x + e.y) + (e.z + e.w));
    m = mn;
  }
  for (; j < end; j += ${WG}u) {
    ${tail}
    m = mn;
  }`;
  const gather = vec4 ? "logits[(r * V + u32(t)) / 4u][u32(t) % 4u]" : "logits[r * V + u32(t)]";
  return /* wgsl */ `
// Fused token log-prob forward (online log-sum-exp + gather), ${vec4 ? "vec4" : "scalar"} loads.
@group(0) @binding(0) var<storage, read> logits: array<${elem}>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read_write> logp: array<f32>;
@group(0) @binding(3) var<storage, read_write> lseOut: array<f32>;
@group(0) @binding(4) var<storage, read_write> status: array<atomic<u32>, 2>;
${PARAMS.declare(5, "P")}
var<workgroup> wm: array<f32, ${WG}>;
var<workgroup> ws: array<f32, ${WG}>;
${rowMain(WG)}
  let skipRow = P.skipIgnored != 0u && targets[P.rowOffset + r] == P.ignoreIndex;
  var m = ${NEG_MAX};
  var s = 0.0;
${body}
  wm[lid] = m;
  ws[lid] = s;
  workgroupBarrier();
  for (var k = ${WG / 2}u; k > 0u; k = k >> 1u) {
    if (lid < k) {
      let m1 = wm[lid];
      let m2 = wm[lid + k];
      let mn = max(m1, m2);
      ws[lid] = ws[lid] * exp(m1 - mn) + ws[lid + k] * exp(m2 - mn);
      wm[lid] = mn;
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let n = P.rowOffset + r;
    let l = select(wm[0] + log(ws[0]), 0.0, skipRow);
    lseOut[n] = l;
    var bad = !isFinite(l);
    let t = targets[n];
    if (t == P.ignoreIndex) {
      logp[n] = 0.0;
    } else if (t < 0 || u32(t) >= V) {
      logp[n] = bitsF32(0x7fc00000u);
      atomicMin(&status[1], n);
    } else {
      let xt = ${gather};
      bad = bad || !isFinite(xt);
      // (x_t − m) − log s, not x_t − (m + log s): with |logits| ~ 1e4 the latter loses ~1e-3 to rounding.
      logp[n] = (xt - wm[0]) - log(ws[0]);
    }
    if (bad) { atomicMin(&status[0], n); }
  }
}`;
}

/** WGSL of the backward kernel. Bindings: logits (read_write when in place), targets, lse, g, [out], status, params. */
export function logprobBackwardWgsl({
  workgroupSize: WG,
  vec4,
  unroll: U = 1,
  inPlace,
}: LogprobKernelParams & { inPlace: boolean }): string {
  const elem = vec4 ? "vec4<f32>" : "f32";
  const dst = inPlace ? "logits" : "dout";
  // Ignored rows: write zeros without reading. Otherwise U independent loads/exps/stores per step,
  // then the invocation that wrote the target's element adds g to it (no per-element compare).
  const T = vec4 ? "vec4<f32>" : "f32";
  const addTarget = vec4
    ? `var d = ${dst}[base + tq];\n      d[u32(t) % 4u] += gg;\n      ${dst}[base + tq] = d;`
    : `${dst}[base + tq] += gg;`;
  const body = /* wgsl */ `
  let len = ${vec4 ? "V / 4u" : "V"};
  let base = r * len;
  if (skip) {
    for (var j = lid; j < len; j += ${WG}u) { ${dst}[base + j] = ${T}(0.0); }
    return;
  }
  let ng = ${T}(-gg);
  let lv = ${T}(l);
  var j = lid;
  for (; j + ${(U - 1) * WG}u < len; j += ${U * WG}u) {
${Array.from({ length: U }, (_, k) => `    let a${k} = logits[base + j + ${k * WG}u];`).join("\n")}
${Array.from({ length: U }, (_, k) => `    ${dst}[base + j + ${k * WG}u] = ng * exp(a${k} - lv);`).join("\n")}
  }
  for (; j < len; j += ${WG}u) { ${dst}[base + j] = ng * exp(logits[base + j] - lv); }
  if (hit) {
    let tq = ${vec4 ? "u32(t) / 4u" : "u32(t)"};
    if (lid == tq % ${WG}u) {
      ${addTarget}
    }
  }`;
  return /* wgsl */ `
// Fused token log-prob backward: dlogits = g · (onehot(t) − exp(logits − lse)), ${inPlace ? "in place" : "to a new buffer"}.
@group(0) @binding(0) var<storage, ${inPlace ? "read_write" : "read"}> logits: array<${elem}>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read> lse: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
${inPlace ? "" : `@group(0) @binding(4) var<storage, read_write> dout: array<${elem}>;\n`}@group(0) @binding(${inPlace ? 4 : 5}) var<storage, read_write> status: array<atomic<u32>, 2>;
${PARAMS.declare(inPlace ? 5 : 6, "P")}
${rowMain(WG)}
  let n = P.rowOffset + r;
  let t = targets[n];
  let skip = t == P.ignoreIndex;
  let hit = t >= 0 && u32(t) < V;
  let gg = g[n];
  let l = lse[n];
  if (lid == 0u) {
    if (!skip && !hit) { atomicMin(&status[1], n); }
    if (!skip && (!isFinite(gg) || !isFinite(l))) { atomicMin(&status[0], n); }
  }
${body}
}`;
}

// ------------------------------------------------------------------ ops

export interface TokenLogprobsOptions {
  /** Target id meaning "ignored position" (logp 0, zero gradient). Must be negative. Default −100. */
  ignoreIndex?: number;
  /**
   * Read back the kernel's status flags and throw `VALUE_NON_FINITE` (first row with a non-finite
   * log-sum-exp or target logit). One 8-byte read, i.e. one wait for the GPU, per call. Default true.
   */
  checkFinite?: boolean;
  /**
   * For targets given as a GPU tensor: throw `VALUE_OUT_OF_RANGE` naming the first position whose id is
   * outside `[0, V)` and not `ignoreIndex` (checked in the same kernel; costs the same read-back).
   * Typed-array targets are always checked on the CPU before dispatch. Default true.
   */
  checkTargets?: boolean;
  /** Cap on bytes per storage binding (default and maximum: the device's maxStorageBufferBindingSize). */
  maxBindingBytes?: number;
  /** Invocations per workgroup (power of two, 32–1024). Default: 32 on software adapters, 256 otherwise. */
  workgroupSize?: number;
  /** Loads per invocation per loop step (1–8). Default 4. */
  unroll?: number;
  /** vec4 loads (needs V % 4 == 0) or scalar loads. Default: vec4 whenever V % 4 == 0. */
  vec4?: boolean;
  /**
   * Forward: do not read the logits of rows whose target is `ignoreIndex` (prompt, padding); their
   * `lse` is then 0 instead of the row's log-sum-exp and they are not checked for non-finite
   * values. Saves their share of the bandwidth. Default false.
   */
  skipIgnored?: boolean;
}

export interface TokenLogprobsBackwardOptions extends TokenLogprobsOptions {
  /** Overwrite the logits tensor with its gradient and return it (no new [N, V] buffer). Default false. */
  inPlace?: boolean;
}

export interface TokenLogprobsResult {
  /** [N] log p(t_n); 0 at ignored positions. */
  logp: Tensor<"f32">;
  /** [N] logsumexp(logits[n, :]) — save it for the backward. */
  lse: Tensor<"f32">;
}

const FWD = "token_logprobs";
const BWD = "token_logprobs_backward";

type Targets = Tensor | Int32Array;

interface Prepared {
  skipIgnored: boolean;
  blocks: readonly Tensor[];
  vec4: boolean;
  unroll: number;
  N: number;
  V: number;
  ignoreIndex: number;
  wg: number;
  maxBytes: number;
  targets: Tensor;
  ownTargets: boolean;
  checkFinite: boolean;
  checkTargets: boolean;
}

/** Logits as one [N, V] tensor or as row blocks [N_i, V] (for batches above maxBufferSize). */
export type Logits = Tensor | readonly Tensor[];

function prepare(
  ctx: GpuContext,
  logits: Logits,
  targets: Targets,
  opts: TokenLogprobsOptions,
  kernel: string,
): Prepared {
  const blocks: readonly Tensor[] = Array.isArray(logits) ? logits : [logits as Tensor];
  if (blocks.length === 0) {
    throw KernelError.mismatch("TENSOR_EMPTY", "logits", "a tensor or at least one row block", "[]", kernel);
  }
  let N = 0;
  let V = -1;
  for (const [i, b] of blocks.entries()) {
    const what = blocks.length > 1 ? `logits block ${i}` : "logits";
    checkTensor(b, ["f32"], what, kernel);
    if (b.shape.length !== 2) {
      throw KernelError.mismatch(
        "SHAPE_MISMATCH",
        `${what} '${b.label}'`,
        "rank 2 [N, V]",
        shapeStr(b.shape),
        kernel,
      );
    }
    const [n, v] = b.shape as [number, number];
    if (n === 0 || v === 0) {
      throw KernelError.mismatch(
        "TENSOR_EMPTY",
        `${what} '${b.label}'`,
        "N ≥ 1 rows and V ≥ 1 columns",
        shapeStr(b.shape),
        kernel,
      );
    }
    if (V >= 0 && v !== V) {
      throw KernelError.mismatch(
        "SHAPE_MISMATCH",
        `${what} '${b.label}'`,
        `V = ${V} columns like block 0`,
        shapeStr(b.shape),
        kernel,
      );
    }
    V = v;
    N += n;
  }
  const ignoreIndex = opts.ignoreIndex ?? -100;
  if (!Number.isInteger(ignoreIndex) || ignoreIndex >= 0 || ignoreIndex < -(2 ** 31)) {
    throw KernelError.mismatch(
      "ARGUMENT_INVALID",
      "ignoreIndex",
      "a negative 32-bit integer",
      ignoreIndex,
      kernel,
    );
  }
  const wg = checkWorkgroupSize(ctx, opts.workgroupSize ?? (ctx.report?.isSoftware ? 32 : 256), kernel);
  const deviceMax = ctx.limits.maxStorageBufferBindingSize;
  const maxBytes = opts.maxBindingBytes ?? deviceMax;
  if (!Number.isInteger(maxBytes) || maxBytes < 4 || maxBytes > deviceMax) {
    throw KernelError.mismatch(
      "ARGUMENT_INVALID",
      "maxBindingBytes",
      `an integer in [4, ${deviceMax}]`,
      maxBytes,
      kernel,
    );
  }
  const vec4 = opts.vec4 ?? V % 4 === 0;
  if (vec4 && V % 4 !== 0) {
    throw KernelError.mismatch(
      "ARGUMENT_INVALID",
      "vec4",
      "false when V % 4 ≠ 0",
      `vec4 with V = ${V}`,
      kernel,
    );
  }
  const unroll = opts.unroll ?? 4;
  if (!Number.isInteger(unroll) || unroll < 1 || unroll > 8) {
    throw KernelError.mismatch("ARGUMENT_INVALID", "unroll", "an integer in [1, 8]", unroll, kernel);
  }
  let t: Tensor;
  let owned = false;
  if (ArrayBuffer.isView(targets)) {
    if (!(targets instanceof Int32Array)) {
      throw KernelError.mismatch("DTYPE_MISMATCH", "targets", "an Int32Array or i32 tensor", targets, kernel);
    }
    if (targets.length !== N) {
      throw KernelError.mismatch(
        "SHAPE_MISMATCH",
        "targets",
        `${N} ids (one per logits row)`,
        `${targets.length}`,
        kernel,
      );
    }
    for (let i = 0; i < N; i++) {
      const id = targets[i] as number;
      if (id !== ignoreIndex && (id < 0 || id >= V)) {
        throw KernelError.mismatch(
          "VALUE_OUT_OF_RANGE",
          `target id at position ${i}`,
          `an id in [0, ${V}) or the ignore index ${ignoreIndex}`,
          id,
          kernel,
        );
      }
    }
    t = ctx.tensor(targets, [N], `${kernel}:targets`);
    owned = true;
  } else {
    checkTensor(targets, ["i32"], "targets", kernel);
    checkShape(targets, [N], "targets", kernel);
    t = targets;
  }
  return {
    skipIgnored: opts.skipIgnored ?? false,
    blocks,
    vec4,
    unroll,
    N,
    V,
    ignoreIndex,
    wg,
    maxBytes,
    targets: t,
    ownTargets: owned,
    checkFinite: opts.checkFinite ?? true,
    checkTargets: owned ? false : (opts.checkTargets ?? true),
  };
}

async function checkStatus(status: Tensor<"u32">, p: Prepared, kernel: string, what: string): Promise<void> {
  if (!p.checkFinite && !p.checkTargets) return;
  const s = await status.read();
  const nf = s[0] as number;
  const oor = s[1] as number;
  if (p.checkTargets && oor !== 0xffffffff) {
    const ids = (await p.targets.read()) as Int32Array; // error path only
    throw KernelError.mismatch(
      "VALUE_OUT_OF_RANGE",
      `target id at position ${oor} (first bad position)`,
      `an id in [0, ${p.V}) or the ignore index ${p.ignoreIndex}`,
      ids[oor],
      kernel,
    );
  }
  if (p.checkFinite && nf !== 0xffffffff) {
    throw new KernelError(
      "VALUE_NON_FINITE",
      `row ${nf} (first bad row) has ${what}: expected finite values, received NaN or ±Inf`,
      { kernel },
    );
  }
}

/**
 * Per-token log-probabilities of `targets` under `logits` ([N, V] f32), fused with the row
 * log-sum-exp. `logits` may also be a list of row blocks [N_i, V] (N = Σ N_i), for batches whose
 * logits exceed one buffer (`maxBufferSize`). `targets` is an `Int32Array` (validated on the CPU)
 * or an i32 tensor [N] (validated in the kernel when `checkTargets`). Returns new [N] tensors
 * the caller destroys.
 */
export async function tokenLogprobs(
  ctx: GpuContext,
  logits: Logits,
  targets: Targets,
  options: TokenLogprobsOptions = {},
): Promise<TokenLogprobsResult> {
  const p = prepare(ctx, logits, targets, options, FWD);
  const { N, V, wg } = p;
  const { vec4, unroll } = p;
  const code = logprobForwardWgsl({ workgroupSize: wg, vec4, unroll });
  const logp = ctx.empty([N], "f32", `${FWD}:logp`);
  const lse = ctx.empty([N], "f32", `${FWD}:lse`);
  const status = ctx.tensor<"u32">(new Uint32Array([0xffffffff, 0xffffffff]), [2], `${FWD}:status`);
  try {
    for (const { block, rows, base, c } of passes(ctx, p, FWD)) {
      const params = passParams(p, base + c.start, c.count, FWD);
      ctx.run({
        kernel: FWD,
        code,
        bindings: [
          c.count === rows ? block : { buffer: block, offset: c.start * V * 4, size: c.count * V * 4 },
          p.targets,
          logp,
          lse,
          status,
          params,
        ],
        workgroups: grid(ctx, c.count),
      });
    }
    await checkStatus(status, p, FWD, "a non-finite log-sum-exp or target logit");
  } catch (e) {
    logp.destroy();
    lse.destroy();
    throw e;
  } finally {
    ctx.flush(); // temporaries are destroyed below: submit the passes that use them first
    status.destroy();
    if (p.ownTargets) p.targets.destroy();
  }
  return { logp, lse };
}

/**
 * Gradient of `Σ g[n]·logp[n]` w.r.t. the logits: `g[n]·(onehot(t_n) − softmax(logits[n]))`,
 * recomputed from the saved `lse`. Rows whose target is the ignore index get zeros. With
 * `inPlace: true` the logits tensor is overwritten and returned (same object; no new buffer);
 * otherwise a new [N, V] tensor is returned. Row blocks in → row blocks out (same order).
 */
export async function tokenLogprobsBackward<L extends Logits>(
  ctx: GpuContext,
  logits: L,
  targets: Targets,
  lse: Tensor,
  g: Tensor | Float32Array,
  options: TokenLogprobsBackwardOptions = {},
): Promise<L extends Tensor ? Tensor<"f32"> : Tensor<"f32">[]> {
  const p = prepare(ctx, logits, targets, options, BWD);
  const { N, V, wg } = p;
  const inPlace = options.inPlace ?? false;
  let gT: { t: Tensor; owned: boolean } | undefined;
  const outs: Tensor<"f32">[] = [];
  const status = ctx.tensor<"u32">(new Uint32Array([0xffffffff, 0xffffffff]), [2], `${BWD}:status`);
  try {
    checkTensor(lse, ["f32"], "lse", BWD);
    checkShape(lse, [N], "lse", BWD);
    if (ArrayBuffer.isView(g)) {
      if (!(g instanceof Float32Array)) {
        throw KernelError.mismatch("DTYPE_MISMATCH", "g", "a Float32Array or f32 tensor", g, BWD);
      }
      if (g.length !== N)
        throw KernelError.mismatch("SHAPE_MISMATCH", "g", `${N} values`, `${g.length}`, BWD);
    } else {
      checkTensor(g, ["f32"], "g", BWD);
      checkShape(g, [N], "g", BWD);
    }
    gT = asTensor(ctx, g, [N], `${BWD}:g`);
    const code = logprobBackwardWgsl({ workgroupSize: wg, vec4: p.vec4, unroll: p.unroll, inPlace });
    if (!inPlace) {
      for (const b of p.blocks) outs.push(ctx.empty(b.shape, "f32", `${BWD}:dlogits`));
    }
    for (const { block, index, rows, base, c } of passes(ctx, p, BWD)) {
      const range = (t: Tensor) =>
        c.count === rows ? t : { buffer: t, offset: c.start * V * 4, size: c.count * V * 4 };
      const bindings: Binding[] = [range(block), p.targets, lse, gT.t];
      const out = outs[index];
      if (out) bindings.push(range(out));
      bindings.push(status, passParams(p, base + c.start, c.count, BWD));
      ctx.run({ kernel: BWD, code, bindings, workgroups: grid(ctx, c.count) });
    }
    await checkStatus(status, p, BWD, "a non-finite upstream gradient g or saved lse");
  } catch (e) {
    for (const o of outs) o.destroy();
    throw e;
  } finally {
    ctx.flush(); // temporaries are destroyed below: submit the passes that use them first
    status.destroy();
    if (gT?.owned) gT.t.destroy();
    if (p.ownTargets) p.targets.destroy();
  }
  // dtypes were checked in prepare()
  const result = (inPlace ? p.blocks : outs) as Tensor<"f32">[];
  return (Array.isArray(logits) ? result : result[0]) as L extends Tensor ? Tensor<"f32"> : Tensor<"f32">[];
}

/** The uniform of one pass over `rows` rows from global row `rowOffset`. */
function passParams(p: Prepared, rowOffset: number, rows: number, kernel: string): Uint32Array {
  const skipIgnored = p.skipIgnored ? 1 : 0;
  return PARAMS.data({ rows, V: p.V, rowOffset, ignoreIndex: p.ignoreIndex, skipIgnored }, kernel);
}

/** Every (block, row chunk) pass: chunks keep each binding within the cap at aligned offsets. */
function* passes(ctx: GpuContext, p: Prepared, kernel: string) {
  let base = 0;
  for (const [index, block] of p.blocks.entries()) {
    const rows = block.shape[0] as number;
    for (const c of rowChunks(ctx, rows, p.V * 4, p.maxBytes, kernel)) yield { block, index, rows, base, c };
    base += rows;
  }
}
