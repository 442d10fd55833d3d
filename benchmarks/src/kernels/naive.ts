/**
 * Naive, unfused WGSL baselines run through the same runtime as the project's kernels:
 * - token log-probs the way an op-by-op framework computes them: row max, row sum of exp, a
 *   materialised log-softmax [N, V], then a gather of the target column (4 passes);
 * - matmul with one output element per invocation, reading A and B straight from storage.
 */
import type { GpuContext, Tensor } from "@sage/kernels-webgpu";

const WG = 64;

/** Per-row reduction (max, or sum of exp(x − max)): one workgroup of 64 per row, tree in shared memory. */
function rowReduceWgsl(kind: "max" | "lse"): string {
  const init = kind === "max" ? "-3.0e38" : "0.0";
  const acc = kind === "max" ? "acc = max(acc, x[base + v]);" : "acc += exp(x[base + v] - rmax[row]);";
  const comb = kind === "max" ? "max(sh[i], sh[i + s])" : "sh[i] + sh[i + s]";
  const fin = kind === "max" ? "out[row] = sh[0];" : "out[row] = rmax[row] + log(sh[0]);";
  return /* wgsl */ `
struct Dims { rows: u32, cols: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> rmax: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;
var<workgroup> sh: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) i: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= d.rows) { return; }
  let base = row * d.cols;
  var acc = ${init};
  for (var v = i; v < d.cols; v += ${WG}u) { ${acc} }
  ${kind === "max" ? "_ = rmax[0];" : ""}
  sh[i] = acc;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (i < s) { sh[i] = ${comb}; }
    workgroupBarrier();
  }
  if (i == 0u) { ${fin} }
}`;
}

/** out[row, v] = x[row, v] − lse[row]: one workgroup of 64 per row, strided over the columns. */
const LOG_SOFTMAX = /* wgsl */ `
struct Dims { rows: u32, cols: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> lse: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) i: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= d.rows) { return; }
  let base = row * d.cols;
  let l = lse[row];
  for (var v = i; v < d.cols; v += ${WG}u) { out[base + v] = x[base + v] - l; }
}`;

const GATHER = /* wgsl */ `
struct Dims { rows: u32, cols: u32 }
@group(0) @binding(0) var<storage, read> ls: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let row = g.x;
  if (row >= d.rows) { return; }
  out[row] = ls[row * d.cols + u32(targets[row])];
}`;

function grid(ctx: GpuContext, groups: number): [number, number] {
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= max) return [groups, 1];
  return [max, Math.ceil(groups / max)];
}

/**
 * Unfused token log-probs: returns logp [rows] (caller destroys it). Allocates and frees the
 * [rows, cols] log-softmax, so its extra memory is rows·cols·4 bytes, unlike a fused kernel.
 */
export function naiveTokenLogProbs(
  ctx: GpuContext,
  logits: Tensor<"f32">,
  targets: Tensor<"i32">,
): Tensor<"f32"> {
  const [rows, cols] = logits.shape as [number, number];
  const dims = new Uint32Array([rows, cols]);
  const rmax = ctx.empty([rows], "f32", "naive:max");
  const lse = ctx.empty([rows], "f32", "naive:lse");
  const ls = ctx.empty([rows, cols], "f32", "naive:logsoftmax");
  const out = ctx.empty([rows], "f32", "naive:logp");
  const rowGrid = grid(ctx, rows);
  ctx.run({
    kernel: "naive_row_max",
    code: rowReduceWgsl("max"),
    bindings: [logits, lse, rmax, dims],
    workgroups: rowGrid,
  });
  ctx.run({
    kernel: "naive_row_lse",
    code: rowReduceWgsl("lse"),
    bindings: [logits, rmax, lse, dims],
    workgroups: rowGrid,
  });
  ctx.run({
    kernel: "naive_log_softmax",
    code: LOG_SOFTMAX,
    bindings: [logits, lse, ls, dims],
    workgroups: rowGrid,
  });
  ctx.run({
    kernel: "naive_gather",
    code: GATHER,
    bindings: [ls, targets, out, dims],
    workgroups: [Math.ceil(rows / 64)],
  });
  // Submit, then release the temporaries: the device frees them once the work has run.
  ctx.flush();
  rmax.destroy();
  lse.destroy();
  ls.destroy();
  return out;
}

const MATMUL_TILE = 8;
const MATMUL = /* wgsl */ `
struct Dims { m: u32, k: u32, n: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;
@compute @workgroup_size(${MATMUL_TILE}, ${MATMUL_TILE})
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let row = g.y;
  let col = g.x;
  if (row >= d.m || col >= d.n) { return; }
  var acc = 0.0;
  for (var k = 0u; k < d.k; k++) { acc += a[row * d.k + k] * b[k * d.n + col]; }
  c[row * d.n + col] = acc;
}`;

/** C = A·B with A [m, k], B [k, n]: one output per invocation. Returns C (caller destroys it). */
export function naiveMatmul(ctx: GpuContext, a: Tensor<"f32">, b: Tensor<"f32">): Tensor<"f32"> {
  const [m, k] = a.shape as [number, number];
  const n = b.shape[1] as number;
  const c = ctx.empty([m, n], "f32", "naive:c");
  ctx.run({
    kernel: "naive_matmul",
    code: MATMUL,
    bindings: [a, b, c, new Uint32Array([m, k, n, 0])],
    workgroups: [Math.ceil(n / MATMUL_TILE), Math.ceil(m / MATMUL_TILE)],
  });
  return c;
}
