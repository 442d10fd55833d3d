import { createContext } from "@sage/kernels-webgpu";

const ctx = await createContext();
const R = 1024,
  V = 32000;
const x = ctx.empty([R, V], "f32") as any;
const lse = ctx.empty([R], "f32") as any;
const out = ctx.empty([R, V], "f32") as any;
const dims = new Uint32Array([R, V]);
const A = `
struct Dims { rows: u32, cols: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> lse: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) i: u32) {
  let idx = (wid.x + wid.y * nwg.x) * 256u + i;
  if (idx >= d.rows * d.cols) { return; }
  out[idx] = x[idx] - lse[idx / d.cols];
}`;
const B = `
struct Dims { rows: u32, cols: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> lse: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) i: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= d.rows) { return; }
  let base = row * d.cols;
  let l = lse[row];
  for (var v = i; v < d.cols; v += 64u) { out[base + v] = x[base + v] - l; }
}`;
for (let r = 0; r < 3; r++) {
  for (const [name, code, wg] of [
    ["flat", A, [65535, 2]],
    ["row", B, [R]],
  ] as const) {
    ctx.startProfile();
    ctx.run({ kernel: name, code, bindings: [x, lse, out, dims], workgroups: wg as any });
    await ctx.sync();
    const p = await ctx.endProfile();
    console.log(name, (p[0]!.ns / 1e6).toFixed(1), "ms");
  }
}
ctx.destroy();
