/**
 * DPO losses (TRL's `dpo_loss` definitions), forward and backward, with TRL's batch metrics.
 *
 * Per pair i, from sequence log-probs of the policy (π_w, π_l) and the reference (ρ_w, ρ_l):
 *   logits = (π_w − π_l) − (ρ_w − ρ_l),  margin m = β·logits,
 *   chosen reward = β(π_w − ρ_w), rejected reward = β(π_l − ρ_l)   (so m = chosen − rejected)
 *   sigmoid: −(1−ε)·logσ(m) − ε·logσ(−m)              (ε = label smoothing; conservative DPO)
 *   robust:  (−(1−ε)·logσ(m) + ε·logσ(−m)) / (1 − 2ε)
 *   hinge:   max(0, 1 − m)
 *   ipo:     (logits − 1/(2β))²
 * Gradients of the reduced loss (mean by default, like TRL) w.r.t. the policy log-probs:
 *   ∂/∂π_w = scale·∂ℓ/∂logits, ∂/∂π_l = −∂/∂π_w, with ∂ℓ/∂logits = β·∂ℓ/∂m except ipo's 2(logits − 1/(2β)).
 * logσ(x) = min(x, 0) − log1p(e^{−|x|}) and σ from e^{−|x|}: no overflow at any |m| (1e4 tested).
 *
 * Kernel: ONE workgroup loops over the pairs (B is a batch of pairs: small), writes the per-pair
 * outputs, and tree-reduces the batch metrics on the GPU into one 8-float tensor, so reading them
 * is a single 32-byte download. Non-finite inputs or losses set a status flag naming the first pair.
 * Bindings: policyChosen, policyRejected, refChosen, refRejected, out [6, B], metrics [8], status, params.
 */
import type { GpuContext, Tensor } from "../runtime/context.js";
import { KernelError } from "../runtime/errors.js";
import { defineUniforms } from "../runtime/uniforms.js";
import { checkTensor } from "./logprob.js";
import { assertShape as checkShape, checkWorkgroupSize, shapeStr } from "./op-util.js";

export type DpoLossType = "sigmoid" | "robust" | "hinge" | "ipo";

export const DPO_LOSS_TYPES: readonly DpoLossType[] = ["sigmoid", "robust", "hinge", "ipo"];

/** Order of the values in the `metrics` tensor (the TRL names, plus `loss`). */
/**
 * β when a caller passes none: TRL's `DPOConfig.beta` default, for users of the kernels alone. The
 * SAGE pipeline never relies on it: the trainer always passes its config's β, whose one default is
 * `@sage/stability`'s `beta` field (the same 0.1).
 */
export const DEFAULT_DPO_BETA = 0.1;

/** The per-pair `[B]` tensors of a {@link DpoResult}, in the order the loss kernel writes them. */
export const DPO_RESULT_FIELDS = [
  "losses",
  "margins",
  "chosenRewards",
  "rejectedRewards",
  "gradChosen",
  "gradRejected",
] as const;

export const DPO_METRIC_NAMES = [
  "loss",
  "rewards/chosen",
  "rewards/rejected",
  "rewards/accuracies",
  "rewards/margins",
  "logps/chosen",
  "logps/rejected",
] as const;

export type DpoMetrics = Record<(typeof DPO_METRIC_NAMES)[number], number>;

export interface DpoOptions {
  /** Loss variant (TRL `loss_type`). Default "sigmoid". */
  lossType?: DpoLossType;
  /** β > 0 (TRL `beta`). Default {@link DEFAULT_DPO_BETA}. */
  beta?: number;
  /** ε (TRL `label_smoothing`): [0, 0.5] for sigmoid, [0, 0.5) for robust, 0 otherwise. Default 0. */
  labelSmoothing?: number;
  /** Reduction the gradients are taken of: "mean" (TRL) or "sum". Default "mean". */
  reduction?: "mean" | "sum";
  /** Read the status flag back and throw VALUE_NON_FINITE naming the first bad pair (one 8-byte read). Default true. */
  checkFinite?: boolean;
  /** Invocations of the single workgroup (power of two, 32–1024). Default 256. */
  workgroupSize?: number;
}

export interface DpoInputs {
  /** [B] policy log-prob of each chosen response (e.g. a sequence sum). */
  policyChosen: Tensor | Float32Array;
  policyRejected: Tensor | Float32Array;
  refChosen: Tensor | Float32Array;
  refRejected: Tensor | Float32Array;
}

export interface DpoResult {
  /** [B] per-pair loss. */
  losses: Tensor<"f32">;
  /** [B] m = β·((π_w − ρ_w) − (π_l − ρ_l)). */
  margins: Tensor<"f32">;
  /** [B] β(π_w − ρ_w). */
  chosenRewards: Tensor<"f32">;
  /** [B] β(π_l − ρ_l). */
  rejectedRewards: Tensor<"f32">;
  /** [B] ∂(reduced loss)/∂π_w. */
  gradChosen: Tensor<"f32">;
  /** [B] ∂(reduced loss)/∂π_l. */
  gradRejected: Tensor<"f32">;
  /** [8] batch means in {@link DPO_METRIC_NAMES} order (then one pad); read with {@link readDpoMetrics}. */
  metrics: Tensor<"f32">;
}

/**
 * WGSL statements of one loss type, shared by the DPO loss and the DPO step kernels: from `logits`
 * (h, the log-ratio difference), `m = β·h`, `beta` and `eps` (label smoothing) they assign `loss` and
 * `dlogits` (∂loss/∂h).
 */
function lossWgsl(lossType: DpoLossType): string {
  const table: Record<DpoLossType, string> = {
    sigmoid: `loss = -(1.0 - eps) * logSigmoid(m) - eps * logSigmoid(-m);
    dlogits = beta * (-(1.0 - eps) * sigmoid(-m) + eps * sigmoid(m));`,
    robust: `loss = (-(1.0 - eps) * logSigmoid(m) + eps * logSigmoid(-m)) / (1.0 - 2.0 * eps);
    dlogits = beta * (-(1.0 - eps) * sigmoid(-m) - eps * sigmoid(m)) / (1.0 - 2.0 * eps);`,
    hinge: `loss = max(0.0, 1.0 - m);
    dlogits = select(0.0, -beta, m < 1.0);`,
    ipo: `let dev = logits - 1.0 / (2.0 * beta);
    loss = dev * dev;
    dlogits = 2.0 * dev;`,
  };
  return table[lossType];
}

/** `log1pSmall`, `logSigmoid`, `sigmoid` for {@link lossWgsl}, shared by both DPO kernels. */
const SIGMOID_WGSL = /* wgsl */ `
// log(1 + e) for e in [0, 1], accurate for small e (Kahan's trick).
fn log1pSmall(e: f32) -> f32 {
  let u = 1.0 + e;
  if (u == 1.0) { return e; }
  return log(u) * e / (u - 1.0);
}
fn logSigmoid(x: f32) -> f32 { return min(x, 0.0) - log1pSmall(exp(-abs(x))); }
fn sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}`;

/** {@link dpoLoss}: B pairs, β, label smoothing ε, gradient scale (1/B for the mean). */
const LOSS_PARAMS = defineUniforms({ B: "u32", beta: "f32", eps: "f32", scale: "f32" });
/** {@link dpoStep}: as {@link LOSS_PARAMS}, plus length normalisation (0/1) and the NLL weight. */
const STEP_PARAMS = defineUniforms({
  B: "u32",
  norm: "u32",
  beta: "f32",
  eps: "f32",
  scale: "f32",
  nllW: "f32",
});

const KERNEL = "dpo_loss";

/** Compile-time parameters of both DPO kernels. */
export interface DpoKernelParams {
  /** Invocations of the single workgroup (power of two). */
  workgroupSize: number;
  lossType: DpoLossType;
}

/** WGSL of the fused DPO forward + backward + batch metrics kernel. */
export function dpoWgsl({ workgroupSize: WG, lossType }: DpoKernelParams): string {
  const loss = lossWgsl(lossType);
  const NV = 7;
  return /* wgsl */ `
// DPO loss (${lossType}) per pair, its gradient w.r.t. the policy log-probs, and batch metrics.
@group(0) @binding(0) var<storage, read> pw: array<f32>;
@group(0) @binding(1) var<storage, read> pl: array<f32>;
@group(0) @binding(2) var<storage, read> rw: array<f32>;
@group(0) @binding(3) var<storage, read> rl: array<f32>;
@group(0) @binding(4) var<storage, read_write> outs: array<f32>;   // [6, B]
@group(0) @binding(5) var<storage, read_write> metrics: array<f32>;
@group(0) @binding(6) var<storage, read_write> status: array<atomic<u32>, 2>;
${LOSS_PARAMS.declare(7, "P")}
var<workgroup> acc: array<array<f32, ${NV}>, ${WG}>;

fn isFinite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
${SIGMOID_WGSL}

@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  let B = P.B;
  let beta = P.beta;
  let eps = P.eps;
  var sums: array<f32, ${NV}>;
  for (var i = lid; i < B; i += ${WG}u) {
    let a = pw[i];
    let b = pl[i];
    let c = rw[i];
    let d = rl[i];
    let cr = beta * (a - c);
    let rr = beta * (b - d);
    let logits = (a - b) - (c - d);
    let m = beta * logits;
    var loss = 0.0;
    var dlogits = 0.0;
    ${loss}
    let gw = P.scale * dlogits;
    outs[i] = loss;
    outs[B + i] = m;
    outs[2u * B + i] = cr;
    outs[3u * B + i] = rr;
    outs[4u * B + i] = gw;
    outs[5u * B + i] = -gw;
    if (!(isFinite(a) && isFinite(b) && isFinite(c) && isFinite(d) && isFinite(loss) && isFinite(gw))) {
      atomicMin(&status[0], i);
    }
    sums[0] += loss;
    sums[1] += cr;
    sums[2] += rr;
    sums[3] += select(0.0, 1.0, cr > rr);
    sums[4] += cr - rr;
    sums[5] += a;
    sums[6] += b;
  }
  acc[lid] = sums;
  workgroupBarrier();
  for (var h = ${WG / 2}u; h > 0u; h = h >> 1u) {
    if (lid < h) {
      for (var j = 0u; j < ${NV}u; j++) { acc[lid][j] += acc[lid + h][j]; }
    }
    workgroupBarrier();
  }
  if (lid < ${NV}u) { metrics[lid] = acc[0][lid] / f32(B); }
  if (lid == ${NV}u) { metrics[lid] = 0.0; }
}`;
}

function input(
  ctx: GpuContext,
  x: Tensor | Float32Array,
  name: string,
  B: number,
  temps: Tensor[],
  what = "one per pair, like policyChosen",
): Tensor {
  if (ArrayBuffer.isView(x)) {
    if (!(x instanceof Float32Array))
      throw KernelError.mismatch("DTYPE_MISMATCH", name, "a Float32Array or f32 tensor", x, KERNEL);
    if (x.length !== B)
      throw KernelError.mismatch("SHAPE_MISMATCH", name, `${B} values (${what})`, `${x.length}`, KERNEL);
    const bad = x.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw KernelError.mismatch("VALUE_NON_FINITE", `${name}[${bad}]`, "a finite log-prob", x[bad], KERNEL);
    const t = ctx.tensor(x, [B], `${KERNEL}:${name}`);
    temps.push(t);
    return t;
  }
  checkTensor(x, ["f32"], name, KERNEL);
  checkShape(x, [B], name, KERNEL);
  return x;
}

/**
 * DPO loss forward and backward for a batch of B pairs. Returns new tensors (caller destroys
 * them all, including `metrics`). Gradients are of the mean (or sum) of the per-pair losses.
 */
export async function dpoLoss(
  ctx: GpuContext,
  inputs: DpoInputs,
  options: DpoOptions = {},
): Promise<DpoResult> {
  const { lossType, beta, eps } = resolveLoss(KERNEL, options);
  const reduction = options.reduction ?? "mean";
  if (reduction !== "mean" && reduction !== "sum") {
    throw KernelError.mismatch("ARGUMENT_INVALID", "reduction", '"mean" | "sum"', reduction, KERNEL);
  }
  const wg = checkWorkgroupSize(ctx, options.workgroupSize ?? 256, KERNEL);
  const pc = inputs.policyChosen;
  if (!ArrayBuffer.isView(pc)) {
    checkTensor(pc, ["f32"], "policyChosen", KERNEL);
    if (pc.shape.length !== 1)
      throw KernelError.mismatch("SHAPE_MISMATCH", "policyChosen", "rank 1 [B]", shapeStr(pc.shape), KERNEL);
  }
  const B = ArrayBuffer.isView(pc) ? pc.length : pc.size;
  if (B === 0) throw KernelError.mismatch("TENSOR_EMPTY", "policyChosen", "at least one pair", "[0]", KERNEL);
  const temps: Tensor[] = [];
  let out: Tensor | undefined;
  let metrics: Tensor<"f32"> | undefined;
  const status = ctx.tensor<"u32">(new Uint32Array([0xffffffff, 0xffffffff]), [2], `${KERNEL}:status`);
  try {
    const ins = [
      input(ctx, pc, "policyChosen", B, temps),
      input(ctx, inputs.policyRejected, "policyRejected", B, temps),
      input(ctx, inputs.refChosen, "refChosen", B, temps),
      input(ctx, inputs.refRejected, "refRejected", B, temps),
    ];
    out = ctx.empty([6, B], "f32", `${KERNEL}:outs`);
    metrics = ctx.empty([8], "f32", `${KERNEL}:metrics`);
    const params = LOSS_PARAMS.data({ B, beta, eps, scale: reduction === "mean" ? 1 / B : 1 }, KERNEL);
    ctx.run({
      kernel: KERNEL,
      code: dpoWgsl({ workgroupSize: wg, lossType }),
      bindings: [...ins, out, metrics, status, params],
      workgroups: [1],
    });
    // Split the [6, B] block into six [B] tensors (copies of a few KB; keeps one simple kernel).
    const names = DPO_RESULT_FIELDS;
    const parts = names.map((n) => ctx.empty([B], "f32", `${KERNEL}:${n}`));
    ctx.flush();
    const enc = ctx.device.createCommandEncoder({ label: `${KERNEL}:split` });
    parts.forEach((p, i) => {
      enc.copyBufferToBuffer((out as Tensor).buffer, i * B * 4, p.buffer, 0, B * 4);
    });
    ctx.queue.submit([enc.finish()]);
    temps.push(out);
    out = undefined;
    if (options.checkFinite ?? true) {
      const s = await status.read();
      if ((s[0] as number) !== 0xffffffff) {
        for (const p of parts) p.destroy();
        throw new KernelError(
          "VALUE_NON_FINITE",
          `pair ${s[0]} (first bad pair) has a non-finite input log-prob, loss or gradient: expected finite values, received NaN or ±Inf`,
          { kernel: KERNEL },
        );
      }
    }
    const [losses, margins, chosenRewards, rejectedRewards, gradChosen, gradRejected] = parts as [
      Tensor<"f32">,
      Tensor<"f32">,
      Tensor<"f32">,
      Tensor<"f32">,
      Tensor<"f32">,
      Tensor<"f32">,
    ];
    const result = { losses, margins, chosenRewards, rejectedRewards, gradChosen, gradRejected, metrics };
    metrics = undefined;
    return result;
  } finally {
    ctx.flush();
    status.destroy();
    out?.destroy();
    metrics?.destroy();
    for (const t of temps) t.destroy();
  }
}

/** Download the `metrics` tensor of {@link dpoLoss} as TRL-named numbers. */
export async function readDpoMetrics(metrics: Tensor): Promise<DpoMetrics> {
  const v = (await metrics.read()) as Float32Array;
  const out = {} as DpoMetrics;
  DPO_METRIC_NAMES.forEach((name, i) => {
    out[name] = v[i] as number;
  });
  return out;
}

// ------------------------------------------------------------------ fused training step

/**
 * Rows of the {@link dpoStep} `values` tensor `[DPO_STEP_ROWS.length, B]` (the only data a trainer
 * reads back per micro-batch): per pair the loss, TRL's rewards (in the units the loss used: means
 * with `lengthNormalize`), the policy's raw sequence sums and response token counts, and the sums
 * over response tokens of the policy's vocabulary-mean logits.
 */
export const DPO_STEP_ROWS = [
  "loss",
  "chosenReward",
  "rejectedReward",
  "chosenLogp",
  "rejectedLogp",
  "chosenTokens",
  "rejectedTokens",
  "chosenLogitSum",
  "rejectedLogitSum",
] as const;

export interface DpoStepOptions {
  lossType?: DpoLossType;
  beta?: number;
  labelSmoothing?: number;
  /**
   * Divide policy and reference log-probs by the response token count before the loss (TRL's
   * `concatenated_forward` does this for `loss_type="ipo"`). Default: true for ipo, false otherwise.
   */
  lengthNormalize?: boolean;
  /** Factor on every per-pair loss gradient (e.g. 1/(pairs in the whole batch)). Default 1/B. */
  gradScale?: number;
  /**
   * Weight w of the NLL term `w · (−Σ_i π_w,i / Σ_i |y_w,i|)` over this call's pairs (TRL's
   * `rpo_alpha` times this micro-batch's share of the batch). Default 0.
   */
  nllWeight?: number;
  /** Invocations of the single workgroup (power of two, 32–1024). Default 64. */
  workgroupSize?: number;
}

export interface DpoStepInputs {
  /** [2B] policy sequence sums: rows 0..B−1 chosen, B..2B−1 rejected. */
  sums: Tensor;
  /** [2B] response token counts (same rows). */
  counts: Tensor;
  /** [2B] sums over response tokens of the vocabulary-mean logits (metrics only); omit → zeros. */
  logitSums?: Tensor;
  /** [2B] reference sequence sums (chosen, then rejected), uploaded once. */
  ref: Tensor | Float32Array;
}

export interface DpoStepResult {
  /** [2B] ∂(scaled loss + NLL term)/∂sums: the `dSeq` of a policy backward. */
  gradSums: Tensor<"f32">;
  /** [9, B] per-pair values in {@link DPO_STEP_ROWS} order. */
  values: Tensor<"f32">;
}

const STEP = "dpo_step";

/** WGSL of the fused DPO step: loss, gradient w.r.t. the sequence sums, NLL term, read-back values. */
export function dpoStepWgsl({ workgroupSize: WG, lossType }: DpoKernelParams): string {
  const loss = lossWgsl(lossType);
  return /* wgsl */ `
// Fused DPO step (${lossType}) from sequence sums: per-pair loss, d/d(sums), NLL term, read-back rows.
@group(0) @binding(0) var<storage, read> sums: array<f32>;
@group(0) @binding(1) var<storage, read> counts: array<f32>;
@group(0) @binding(2) var<storage, read> logitSums: array<f32>;
@group(0) @binding(3) var<storage, read> refs: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad: array<f32>;    // [2B]
@group(0) @binding(5) var<storage, read_write> values: array<f32>;  // [9, B]
${STEP_PARAMS.declare(6, "P")}
var<workgroup> acc: array<f32, ${WG}>;
${SIGMOID_WGSL}
fn perToken(x: f32, n: f32) -> f32 { return select(x, select(0.0, x / n, n != 0.0), P.norm != 0u); }

@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  let B = P.B;
  let beta = P.beta;
  let eps = P.eps;
  // Σ |y_w| over the pairs (the NLL term's token mean).
  var c = 0.0;
  for (var i = lid; i < B; i += ${WG}u) { c += counts[i]; }
  acc[lid] = c;
  workgroupBarrier();
  for (var h = ${WG / 2}u; h > 0u; h = h >> 1u) {
    if (lid < h) { acc[lid] += acc[lid + h]; }
    workgroupBarrier();
  }
  let chosenTokens = acc[0];
  let dNll = select(0.0, -P.nllW / chosenTokens, chosenTokens != 0.0);
  for (var i = lid; i < B; i += ${WG}u) {
    let nw = counts[i];
    let nl = counts[B + i];
    let a = perToken(sums[i], nw);
    let b = perToken(sums[B + i], nl);
    let c0 = perToken(refs[i], nw);
    let d = perToken(refs[B + i], nl);
    let logits = (a - b) - (c0 - d);
    let m = beta * logits;
    var loss = 0.0;
    var dlogits = 0.0;
    ${loss}
    let g = P.scale * dlogits;
    grad[i] = perToken(g, nw) + dNll;
    grad[B + i] = perToken(-g, nl);
    values[i] = loss;
    values[B + i] = beta * (a - c0);
    values[2u * B + i] = beta * (b - d);
    values[3u * B + i] = sums[i];
    values[4u * B + i] = sums[B + i];
    values[5u * B + i] = nw;
    values[6u * B + i] = nl;
    values[7u * B + i] = logitSums[i];
    values[8u * B + i] = logitSums[B + i];
  }
}`;
}

/** Validated loss options shared by {@link dpoLoss} and {@link dpoStep}. */
function resolveLoss(
  kernel: string,
  o: { lossType?: DpoLossType; beta?: number; labelSmoothing?: number },
): { lossType: DpoLossType; beta: number; eps: number } {
  const lossType = o.lossType ?? "sigmoid";
  if (!DPO_LOSS_TYPES.includes(lossType)) {
    throw KernelError.mismatch("ARGUMENT_INVALID", "lossType", DPO_LOSS_TYPES.join(" | "), lossType, kernel);
  }
  const beta = o.beta ?? DEFAULT_DPO_BETA;
  if (!(Number.isFinite(beta) && beta > 0))
    throw KernelError.mismatch("ARGUMENT_INVALID", "beta", "a finite number > 0", beta, kernel);
  const eps = o.labelSmoothing ?? 0;
  const epsOk =
    lossType === "sigmoid"
      ? eps >= 0 && eps <= 0.5
      : lossType === "robust"
        ? eps >= 0 && eps < 0.5
        : eps === 0;
  if (!epsOk) {
    const range =
      lossType === "sigmoid"
        ? "[0, 0.5]"
        : lossType === "robust"
          ? "[0, 0.5)"
          : `0 (${lossType} has no label smoothing)`;
    throw KernelError.mismatch("ARGUMENT_INVALID", "labelSmoothing", range, eps, kernel);
  }
  return { lossType, beta, eps };
}

/**
 * One micro-batch of DPO (+ NLL) on the GPU, from the policy's sequence sums and token counts:
 * encodes one single-workgroup kernel and reads nothing back. `gradSums` is the per-row `dSeq`
 * for the policy's backward; `values` holds what the host needs for metrics and selection (read it
 * after encoding the backward). With `lengthNormalize` the loss sees per-token means (policy and
 * reference sums both divided by the policy's response token count). Caller destroys the results.
 */
export function dpoStep(ctx: GpuContext, inputs: DpoStepInputs, options: DpoStepOptions = {}): DpoStepResult {
  const { lossType, beta, eps } = resolveLoss(STEP, options);
  const norm = options.lengthNormalize ?? lossType === "ipo";
  const wg = checkWorkgroupSize(ctx, options.workgroupSize ?? 64, STEP);
  checkTensor(inputs.sums, ["f32"], "sums", STEP);
  const R = inputs.sums.size;
  if (inputs.sums.shape.length !== 1 || R === 0 || R % 2 !== 0) {
    throw KernelError.mismatch(
      R === 0 ? "TENSOR_EMPTY" : "SHAPE_MISMATCH",
      "sums",
      "[2B] with B ≥ 1 (chosen rows, then rejected rows)",
      shapeStr(inputs.sums.shape),
      STEP,
    );
  }
  const B = R / 2;
  const scale = options.gradScale ?? 1 / B;
  const nllW = options.nllWeight ?? 0;
  for (const [name, v] of [
    ["gradScale", scale],
    ["nllWeight", nllW],
  ] as const) {
    if (!Number.isFinite(v)) throw KernelError.mismatch("ARGUMENT_INVALID", name, "a finite number", v, STEP);
  }
  checkTensor(inputs.counts, ["f32"], "counts", STEP);
  checkShape(inputs.counts, [R], "counts", STEP);
  if (inputs.logitSums) {
    checkTensor(inputs.logitSums, ["f32"], "logitSums", STEP);
    checkShape(inputs.logitSums, [R], "logitSums", STEP);
  }
  const temps: Tensor[] = [];
  let gradSums: Tensor<"f32"> | undefined;
  try {
    const ref = input(ctx, inputs.ref, "ref", R, temps, "chosen then rejected, like sums");
    const logitSums = inputs.logitSums ?? ctx.tensor(new Float32Array(R), [R], `${STEP}:logitSums`);
    if (!inputs.logitSums) temps.push(logitSums);
    gradSums = ctx.empty([R], "f32", `${STEP}:gradSums`);
    const values = ctx.empty([DPO_STEP_ROWS.length, B], "f32", `${STEP}:values`);
    const params = STEP_PARAMS.data({ B, norm: norm ? 1 : 0, beta, eps, scale, nllW }, STEP);
    try {
      ctx.run({
        kernel: STEP,
        code: dpoStepWgsl({ workgroupSize: wg, lossType }),
        bindings: [inputs.sums, inputs.counts, logitSums, ref, gradSums, values, params],
        workgroups: [1],
      });
    } catch (e) {
      values.destroy();
      throw e;
    }
    const result = { gradSums, values };
    gradSums = undefined;
    return result;
  } finally {
    ctx.flush();
    gradSums?.destroy();
    for (const t of temps) t.destroy();
  }
}
