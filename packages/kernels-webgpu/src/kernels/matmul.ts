/**
 * Matrix multiply, f32: C = op(A)·op(B) (+ bias over rows) (+ C when accumulating), optionally
 * batched (leading batch dimension; a 2-D operand is broadcast over the batch).
 *
 * Three selectable kernel versions, all bounds-checked (any M, N, K ≥ 1):
 * - `naive`: one output per invocation, scalar loads (reference for benchmarks).
 * - `blocked` (default on software adapters such as lavapipe): no workgroup memory; each
 *   invocation keeps a `rows × cols` block of C in registers and walks K four at a time with
 *   vec4 loads. lavapipe runs invocations as SIMD lanes, so barrier-free register blocking wins
 *   there. Needs the operands' contiguous dimensions to be multiples of 4; other shapes (rare in
 *   a model: a tiny vocabulary) run the tiled kernel. Bias and accumulate are runtime flags and
 *   transposes are runtime strides in the naive/tiled kernels, so few shader variants exist —
 *   each costs an LLVM compile on lavapipe (≈4 s cold for the 8 × 8 blocked kernel).
 * - `tiled` (default on hardware adapters): classic workgroup-memory tiling, a `64 × 64` tile of
 *   C per 16×16 workgroup (4×4 per invocation), K in steps of `bk`.
 *
 * Bindings (group 0, in order): A, B, bias (A again when there is none), C, params (uniform: M,
 * N, K, batch, strideA, strideB, strideC, flags — strides are per batch, in elements, 0 for a
 * broadcast operand; flags bit 0 = add bias, bit 1 = accumulate into C).
 */
import type { GpuContext, Tensor } from "../runtime/context.js";
import { KernelError } from "../runtime/errors.js";
import { defineUniforms } from "../runtime/uniforms.js";
import {
  assertAccumulateTarget,
  assertDtype,
  assertNonEmpty,
  assertRank,
  assertShape,
  cachedWgsl,
  outputTensor,
  shapeStr,
} from "./op-util.js";

export type MatmulVariant = "auto" | "naive" | "blocked" | "tiled";

export interface BlockedConfig {
  /** Rows of C per invocation (default 16). */
  rows: number;
  /** Columns of C per invocation, a multiple of 4 (default 8 = two vec4). */
  cols: number;
  /** Workgroup size along N-blocks and M-blocks (default 8 × 1). */
  wgX: number;
  wgY: number;
}

export interface TiledConfig {
  /** K step per workgroup-memory tile (default 16). Tile of C is 64 × 64, workgroup 16 × 16. */
  bk: number;
}

// Measured on lavapipe (2 cores, interleaved GPU-timestamp medians) at the 1M model's shapes
// (M = 1024 tokens, N/K = 128/384, and the transA weight gradients with K = 1024): 16 × 8 with
// 8 invocations (one AVX2 SIMD row) gave 6.6–12 GFLOP/s against 5.5–7.1 for 8 × 8 × 32 (which
// leaves half its lanes idle when N/8 < 32), and 14 against 9.8 GFLOP/s at 1024³.
export const DEFAULT_BLOCKED: BlockedConfig = { rows: 16, cols: 8, wgX: 8, wgY: 1 };
export const DEFAULT_TILED: TiledConfig = { bk: 16 };

export interface MatmulOptions {
  /** A is stored `[K, M]` (or `[batch, K, M]`) and used transposed. */
  transA?: boolean;
  /** B is stored `[N, K]` (or `[batch, N, K]`) and used transposed (e.g. `x·Wᵀ` for HF weights). */
  transB?: boolean;
  /** Bias `[N]` added to every row. */
  bias?: Tensor;
  /** Write into this tensor (shape `[M, N]` or `[batch, M, N]`) instead of a new one. */
  out?: Tensor;
  /** Add into `out` (C += A·B + bias). Requires `out`. */
  accumulate?: boolean;
  /** Kernel version (default `auto`: `blocked` on software adapters, else `tiled`). */
  variant?: MatmulVariant;
  blocked?: Partial<BlockedConfig>;
  tiled?: Partial<TiledConfig>;
}

interface Dims {
  M: number;
  N: number;
  K: number;
  batch: number;
  sa: number;
  sb: number;
  sc: number;
}

/** Compile-time flags. Bias and accumulate are runtime flags (`p.flags` bits 0 and 1) so that
 * they do not multiply the number of shader variants (each costs an LLVM compile on lavapipe). */
export interface MatmulKernelFlags {
  transA: boolean;
  transB: boolean;
}

const KERNEL = "matmul";
/** Sizes, per-batch strides, runtime flags, and element strides of op(A)[m, k] and op(B)[k, n]. */
const PARAMS = defineUniforms({
  M: "u32",
  N: "u32",
  K: "u32",
  batch: "u32",
  sa: "u32",
  sb: "u32",
  sc: "u32",
  flags: "u32",
  am: "u32",
  ak: "u32",
  bk: "u32",
  bn: "u32",
});

function header(aType: string, bType: string): string {
  const lines = [
    `@group(0) @binding(0) var<storage, read> a: array<${aType}>;`,
    `@group(0) @binding(1) var<storage, read> b: array<${bType}>;`,
  ];
  let i = 2;
  // Without a bias, A is bound here again (read-only twice is allowed) and never read.
  lines.push(`@group(0) @binding(${i++}) var<storage, read> bias: array<f32>;`);
  lines.push(`@group(0) @binding(${i++}) var<storage, read_write> c: array<f32>;`);
  lines.push(PARAMS.declare(i, "p"));
  return lines.join("\n");
}

/** WGSL for the naive kernel: one C element per invocation (16 × 16 workgroups). */
export function matmulNaiveWgsl(): string {
  return /* wgsl */ `${header("f32", "f32")}
@compute @workgroup_size(16, 16)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = gid.x; let m = gid.y; let z = gid.z;
  if (m >= p.M || n >= p.N) { return; }
  let ao = z * p.sa + m * p.am; let bo = z * p.sb + n * p.bn;
  var s = 0.0;
  for (var k = 0u; k < p.K; k++) { s = fma(a[ao + k * p.ak], b[bo + k * p.bk], s); }
  let ci = z * p.sc + m * p.N + n;
  if ((p.flags & 1u) != 0u) { s += bias[n]; }
  if ((p.flags & 2u) != 0u) { s += c[ci]; }
  c[ci] = s;
}`;
}

/**
 * WGSL for the register-blocked kernel (no workgroup memory, vec4 loads only). Requires the
 * contiguous dimension of each operand to be a multiple of 4 (A: K, or M with `transA`; B: N, or
 * K with `transB`); {@link matmul} uses the tiled kernel for other shapes.
 */
export function matmulBlockedWgsl(f: MatmulKernelFlags, cfg: BlockedConfig): string {
  const RM = cfg.rows;
  const Q = cfg.cols / 4;
  const RN = cfg.cols;
  const L: string[] = [];
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  // Loads of A: a{r} = vec4 over kk of A[m0 + r, k + kk] (rows clamped: extra rows are never stored).
  if (!f.transA) {
    for (const r of range(RM)) L.push(`let a${r} = a[(ao + ar${r} + k) >> 2u];`);
  } else {
    for (const kk of range(4)) {
      for (const q of range(RM / 4)) {
        const base = `ao + (k + ${kk}u) * p.M + m0 + ${4 * q}u`;
        L.push(`let at${kk}_${q} = la4((${base}) >> 2u, k + ${kk}u < p.K && m0 + ${4 * q}u < p.M);`);
      }
    }
    for (const r of range(RM)) {
      const q = Math.floor(r / 4);
      const j = r % 4;
      L.push(`let a${r} = vec4<f32>(${range(4).map((kk) => `at${kk}_${q}[${j}]`)});`);
    }
  }
  // Loads of B: b{kk}_{q} = vec4 over j of B[k + kk, n0 + 4q + j].
  if (!f.transB) {
    for (const kk of range(4)) {
      for (const q of range(Q)) {
        const base = `bo + (k + ${kk}u) * p.N + n0 + ${4 * q}u`;
        L.push(`let b${kk}_${q} = lb4((${base}) >> 2u, k + ${kk}u < p.K && n0 + ${4 * q}u < p.N);`);
      }
    }
  } else {
    for (const cc of range(RN)) L.push(`let bt${cc} = b[(bo + min(n0 + ${cc}u, p.N - 1u) * p.K + k) >> 2u];`);
    for (const kk of range(4)) {
      for (const q of range(Q)) {
        L.push(`let b${kk}_${q} = vec4<f32>(${range(4).map((j) => `bt${4 * q + j}[${kk}]`)});`);
      }
    }
  }
  for (const kk of range(4)) {
    for (const r of range(RM)) {
      for (const q of range(Q)) {
        L.push(`acc${r}_${q} = fma(vec4<f32>(a${r}[${kk}]), b${kk}_${q}, acc${r}_${q});`);
      }
    }
  }
  const accDecl = range(RM)
    .flatMap((r) => range(Q).map((q) => `var acc${r}_${q} = vec4<f32>(0.0);`))
    .join("\n  ");
  const rowDecl = f.transA
    ? ""
    : range(RM)
        .map((r) => `let ar${r} = min(m0 + ${r}u, p.M - 1u) * p.K;`)
        .join("\n  ");
  const store: string[] = [];
  for (const r of range(RM)) {
    store.push(`if (m0 + ${r}u < p.M) {`);
    for (const q of range(Q)) {
      const n = `n0 + ${4 * q}u`;
      store.push(`  { let v = acc${r}_${q} + vec4<f32>(${range(4).map((j) => `lbias(${n} + ${j}u)`)});`);
      const ci = `co + (m0 + ${r}u) * p.N + ${n}`;
      for (const j of range(4)) {
        store.push(`    if (${n} + ${j}u < p.N) { c[${ci} + ${j}u] = v[${j}] + acc1(${ci} + ${j}u); }`);
      }
      store.push("  }");
    }
    store.push("}");
  }
  const helpers = [
    `fn la4(i: u32, ok: bool) -> vec4<f32> { return select(vec4<f32>(0.0), a[min(i, arrayLength(&a) - 1u)], ok); }`,
    `fn lb4(i: u32, ok: bool) -> vec4<f32> { return select(vec4<f32>(0.0), b[min(i, arrayLength(&b) - 1u)], ok); }`,
    `fn acc1(i: u32) -> f32 { return select(0.0, c[i], (p.flags & 2u) != 0u); }`,
    `fn lbias(n: u32) -> f32 { return select(0.0, bias[min(n, arrayLength(&bias) - 1u)], n < p.N && (p.flags & 1u) != 0u); }`,
  ];
  return /* wgsl */ `${header("vec4<f32>", "vec4<f32>")}
${helpers.join("\n")}
@compute @workgroup_size(${cfg.wgX}, ${cfg.wgY})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n0 = gid.x * ${RN}u; let m0 = gid.y * ${RM}u; let z = gid.z;
  if (m0 >= p.M || n0 >= p.N) { return; }
  let ao = z * p.sa; let bo = z * p.sb; let co = z * p.sc;
  ${rowDecl}
  ${accDecl}
  for (var k = 0u; k < p.K; k += 4u) {
    ${L.join("\n    ")}
  }
  ${store.join("\n  ")}
}`;
}

/** Whether the blocked kernel applies: both operands' contiguous dimensions are multiples of 4. */
export function blockedApplies(M: number, N: number, K: number, transA: boolean, transB: boolean): boolean {
  return (transA ? M : K) % 4 === 0 && (transB ? K : N) % 4 === 0;
}

/** WGSL for the workgroup-memory tiled kernel: 64 × 64 tile of C, 16 × 16 invocations, 4 × 4 each. */
export function matmulTiledWgsl(cfg: TiledConfig): string {
  const BK = cfg.bk;
  const perA = (64 * BK) / 256;
  // Thread-to-element maps follow each operand's contiguous dimension (a runtime choice: the
  // stride of 1) so that loads coalesce.
  const aMap = `let aKc = p.ak == 1u; let mm = select(i % 64u, i / ${BK}u, aKc); let kk = select(i / 64u, i % ${BK}u, aKc);`;
  const bMap = `let bKc = p.bk == 1u; let nn = select(i % 64u, i / ${BK}u, bKc); let kk = select(i / 64u, i % ${BK}u, bKc);`;
  const aIdx = "m * p.am + (k0 + kk) * p.ak";
  const bIdx = "n * p.bn + (k0 + kk) * p.bk";
  return /* wgsl */ `${header("f32", "f32")}
var<workgroup> As: array<f32, ${64 * BK}>;
var<workgroup> Bs: array<f32, ${64 * BK}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tid = lid.y * 16u + lid.x;
  let mBase = wid.y * 64u; let nBase = wid.x * 64u; let z = wid.z;
  let ao = z * p.sa; let bo = z * p.sb; let co = z * p.sc;
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < p.K; k0 += ${BK}u) {
    for (var e = 0u; e < ${perA}u; e++) {
      let i = tid + e * 256u;
      { ${aMap}
        let m = mBase + mm;
        var v = 0.0;
        if (m < p.M && k0 + kk < p.K) { v = a[ao + ${aIdx}]; }
        As[kk * 64u + mm] = v; }
      { ${bMap}
        let n = nBase + nn;
        var v = 0.0;
        if (n < p.N && k0 + kk < p.K) { v = b[bo + ${bIdx}]; }
        Bs[kk * 64u + nn] = v; }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${BK}u; kk++) {
      var av: array<f32, 4>; var bv: array<f32, 4>;
      for (var r = 0u; r < 4u; r++) { av[r] = As[kk * 64u + lid.y + 16u * r]; bv[r] = Bs[kk * 64u + lid.x + 16u * r]; }
      for (var r = 0u; r < 4u; r++) {
        for (var q = 0u; q < 4u; q++) { acc[r * 4u + q] = fma(av[r], bv[q], acc[r * 4u + q]); }
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let m = mBase + lid.y + 16u * r;
    if (m >= p.M) { continue; }
    for (var q = 0u; q < 4u; q++) {
      let n = nBase + lid.x + 16u * q;
      if (n >= p.N) { continue; }
      var s = acc[r * 4u + q];
      if ((p.flags & 1u) != 0u) { s += bias[n]; }
      let ci = co + m * p.N + n;
      if ((p.flags & 2u) != 0u) { s += c[ci]; }
      c[ci] = s;
    }
  }
}`;
}

/** Resolve `auto` to a concrete kernel version for this context. */
export function matmulVariantFor(ctx: GpuContext, v: MatmulVariant = "auto"): Exclude<MatmulVariant, "auto"> {
  if (v !== "auto") return v;
  return ctx.report?.isSoftware ? "blocked" : "tiled";
}

/**
 * `C = op(A)·op(B) (+ bias) (+ C)`. A: `[M, K]` (`[K, M]` with `transA`), B: `[K, N]` (`[N, K]`
 * with `transB`), either may carry a leading batch dimension (a 2-D operand is broadcast).
 * Returns `[M, N]` or `[batch, M, N]`: a new tensor, or `options.out`.
 */
export function matmul(ctx: GpuContext, a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor<"f32"> {
  const d = checkMatmul(a, b, options);
  const outShape = a.shape.length === 3 || b.shape.length === 3 ? [d.batch, d.M, d.N] : [d.M, d.N];
  assertAccumulateTarget(options.accumulate, options.out, "an `out` tensor", KERNEL);
  const outBuf = options.out?.buffer;
  if (outBuf && (outBuf === a.buffer || outBuf === b.buffer || outBuf === options.bias?.buffer)) {
    throw new KernelError("ARGUMENT_INVALID", "`out` must not alias an input", { kernel: KERNEL });
  }
  const flags: MatmulKernelFlags = {
    transA: options.transA === true,
    transB: options.transB === true,
  };
  let variant = matmulVariantFor(ctx, options.variant);
  const tiledCfg = { ...DEFAULT_TILED, ...options.tiled };
  const blockedCfg = { ...DEFAULT_BLOCKED, ...options.blocked };
  if (variant === "blocked") checkBlocked(blockedCfg, flags.transA);
  // The blocked kernel uses vec4 loads only; other shapes go to the tiled kernel.
  if (variant === "blocked" && !blockedApplies(d.M, d.N, d.K, flags.transA, flags.transB)) variant = "tiled";
  if (variant === "tiled") checkTiled(tiledCfg);
  // Validation is complete: only now allocate (nothing leaks on a thrown error).
  const c = outputTensor(ctx, options.out, outShape, "matmul:out", KERNEL);
  const runtimeFlags = (options.bias ? 1 : 0) | (options.accumulate ? 2 : 0);
  // Element strides of op(A)[m, k] and op(B)[k, n] inside one matrix.
  const [am, ak] = flags.transA ? [1, d.M] : [d.K, 1];
  const [bk, bn] = flags.transB ? [1, d.K] : [d.N, 1];
  const params = PARAMS.data(
    {
      M: d.M,
      N: d.N,
      K: d.K,
      batch: d.batch,
      sa: d.sa,
      sb: d.sb,
      sc: d.sc,
      flags: runtimeFlags,
      am,
      ak,
      bk,
      bn,
    },
    KERNEL,
  );
  const bindings = [a, b, options.bias ?? a, c, params];
  if (variant === "naive") {
    ctx.run({
      kernel: "matmul_naive",
      code: cachedWgsl("matmul_naive", matmulNaiveWgsl),
      bindings,
      workgroups: [Math.ceil(d.N / 16), Math.ceil(d.M / 16), d.batch],
    });
  } else if (variant === "tiled") {
    ctx.run({
      kernel: "matmul_tiled",
      code: cachedWgsl(`matmul_tiled:${tiledCfg.bk}`, () => matmulTiledWgsl(tiledCfg)),
      bindings,
      workgroups: [Math.ceil(d.N / 64), Math.ceil(d.M / 64), d.batch],
    });
  } else {
    const cfg = blockedCfg;
    ctx.run({
      kernel: "matmul_blocked",
      code: cachedWgsl(
        `matmul_blocked:${flags.transA}:${flags.transB}:${cfg.rows}:${cfg.cols}:${cfg.wgX}:${cfg.wgY}`,
        () => matmulBlockedWgsl(flags, cfg),
      ),
      bindings,
      workgroups: [
        Math.ceil(Math.ceil(d.N / cfg.cols) / cfg.wgX),
        Math.ceil(Math.ceil(d.M / cfg.rows) / cfg.wgY),
        d.batch,
      ],
    });
  }
  return c;
}

function checkTiled(cfg: TiledConfig): void {
  if (![4, 8, 16, 32].includes(cfg.bk)) {
    throw KernelError.mismatch("ARGUMENT_INVALID", "tiled.bk", "4, 8, 16 or 32", cfg.bk, KERNEL);
  }
}

function checkBlocked(cfg: BlockedConfig, transA: boolean): void {
  const ok =
    Number.isInteger(cfg.rows) &&
    cfg.rows >= 1 &&
    cfg.rows <= 16 &&
    (!transA || cfg.rows % 4 === 0) &&
    Number.isInteger(cfg.cols) &&
    cfg.cols % 4 === 0 &&
    cfg.cols >= 4 &&
    cfg.cols <= 16 &&
    Number.isInteger(cfg.wgX) &&
    Number.isInteger(cfg.wgY) &&
    cfg.wgX >= 1 &&
    cfg.wgY >= 1 &&
    cfg.wgX * cfg.wgY <= 256;
  if (!ok) {
    throw KernelError.mismatch(
      "ARGUMENT_INVALID",
      "blocked config",
      "rows in 1..16 (a multiple of 4 with transA), cols in {4, 8, 12, 16}, wgX·wgY ≤ 256",
      cfg,
      KERNEL,
    );
  }
}

function checkMatmul(a: Tensor, b: Tensor, o: MatmulOptions): Dims {
  assertDtype(a, ["f32"], "A", KERNEL);
  assertDtype(b, ["f32"], "B", KERNEL);
  assertRank(a, [2, 3], "A", KERNEL);
  assertRank(b, [2, 3], "B", KERNEL);
  assertNonEmpty(a, "A", KERNEL);
  assertNonEmpty(b, "B", KERNEL);
  const a2 = a.shape.slice(-2) as [number, number];
  const b2 = b.shape.slice(-2) as [number, number];
  const [M, Ka] = o.transA ? [a2[1], a2[0]] : a2;
  const [Kb, N] = o.transB ? [b2[1], b2[0]] : b2;
  if (Ka !== Kb) {
    throw KernelError.mismatch(
      "SHAPE_MISMATCH",
      `inner dimensions of A ${shapeStr(a.shape)}${o.transA ? "ᵀ" : ""} and B ${shapeStr(b.shape)}${o.transB ? "ᵀ" : ""}`,
      `equal K (A gives ${Ka})`,
      Kb,
      KERNEL,
    );
  }
  const ba = a.shape.length === 3 ? (a.shape[0] as number) : undefined;
  const bb = b.shape.length === 3 ? (b.shape[0] as number) : undefined;
  if (ba !== undefined && bb !== undefined && ba !== bb) {
    throw KernelError.mismatch("SHAPE_MISMATCH", "batch dimension of B", `${ba} (as A)`, bb, KERNEL);
  }
  const batch = ba ?? bb ?? 1;
  if (o.bias) {
    assertDtype(o.bias, ["f32"], "bias", KERNEL);
    assertShape(o.bias, [N], "bias", KERNEL);
  }
  return {
    M,
    N,
    K: Ka,
    batch,
    sa: ba !== undefined ? M * Ka : 0,
    sb: bb !== undefined ? Ka * N : 0,
    sc: M * N,
  };
}
