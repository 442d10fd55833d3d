/**
 * Float64 reference for the DPO losses (TRL `dpo_loss` definitions; see `kernels/dpo.ts`).
 */
import { DEFAULT_DPO_BETA, type DpoLossType, type DpoMetrics } from "../kernels/dpo.js";

/** log σ(x), stable for any |x|. */
export function logSigmoid(x: number): number {
  return Math.min(x, 0) - Math.log1p(Math.exp(-Math.abs(x)));
}

/** σ(x), stable for any |x|. */
export function sigmoid(x: number): number {
  const e = Math.exp(-Math.abs(x));
  return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}

export interface DpoRefOptions {
  lossType?: DpoLossType;
  beta?: number;
  labelSmoothing?: number;
  reduction?: "mean" | "sum";
}

export interface DpoRef {
  losses: Float64Array;
  margins: Float64Array;
  chosenRewards: Float64Array;
  rejectedRewards: Float64Array;
  gradChosen: Float64Array;
  gradRejected: Float64Array;
  metrics: DpoMetrics;
}

/** Per-pair loss ℓ and ∂ℓ/∂logits for logits = (π_w − π_l) − (ρ_w − ρ_l). */
export function dpoPairRef(
  logits: number,
  lossType: DpoLossType,
  beta: number,
  eps: number,
): [number, number] {
  const m = beta * logits;
  switch (lossType) {
    case "sigmoid":
      return [
        -(1 - eps) * logSigmoid(m) - eps * logSigmoid(-m),
        beta * (-(1 - eps) * sigmoid(-m) + eps * sigmoid(m)),
      ];
    case "robust":
      return [
        (-(1 - eps) * logSigmoid(m) + eps * logSigmoid(-m)) / (1 - 2 * eps),
        (beta * (-(1 - eps) * sigmoid(-m) - eps * sigmoid(m))) / (1 - 2 * eps),
      ];
    case "hinge":
      return [Math.max(0, 1 - m), m < 1 ? -beta : 0];
    case "ipo": {
      const dev = logits - 1 / (2 * beta);
      return [dev * dev, 2 * dev];
    }
  }
}

export function dpoLossRef(
  policyChosen: ArrayLike<number>,
  policyRejected: ArrayLike<number>,
  refChosen: ArrayLike<number>,
  refRejected: ArrayLike<number>,
  {
    lossType = "sigmoid",
    beta = DEFAULT_DPO_BETA,
    labelSmoothing = 0,
    reduction = "mean",
  }: DpoRefOptions = {},
): DpoRef {
  const B = policyChosen.length;
  const scale = reduction === "mean" ? 1 / B : 1;
  const r: Omit<DpoRef, "metrics"> = {
    losses: new Float64Array(B),
    margins: new Float64Array(B),
    chosenRewards: new Float64Array(B),
    rejectedRewards: new Float64Array(B),
    gradChosen: new Float64Array(B),
    gradRejected: new Float64Array(B),
  };
  const sums = [0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < B; i++) {
    const a = policyChosen[i] as number;
    const b = policyRejected[i] as number;
    const c = refChosen[i] as number;
    const d = refRejected[i] as number;
    const logits = a - b - (c - d);
    const [loss, dl] = dpoPairRef(logits, lossType, beta, labelSmoothing);
    const cr = beta * (a - c);
    const rr = beta * (b - d);
    r.losses[i] = loss;
    r.margins[i] = beta * logits;
    r.chosenRewards[i] = cr;
    r.rejectedRewards[i] = rr;
    r.gradChosen[i] = scale * dl;
    r.gradRejected[i] = -scale * dl;
    const add = [loss, cr, rr, cr > rr ? 1 : 0, cr - rr, a, b];
    add.forEach((v, j) => {
      sums[j] = (sums[j] as number) + v;
    });
  }
  const mean = sums.map((s) => s / B);
  const metrics: DpoMetrics = {
    loss: mean[0] as number,
    "rewards/chosen": mean[1] as number,
    "rewards/rejected": mean[2] as number,
    "rewards/accuracies": mean[3] as number,
    "rewards/margins": mean[4] as number,
    "logps/chosen": mean[5] as number,
    "logps/rejected": mean[6] as number,
  };
  return { ...r, metrics };
}

export interface DpoStepRefOptions {
  lossType?: DpoLossType;
  beta?: number;
  labelSmoothing?: number;
  /** Default: true for ipo (TRL), false otherwise. */
  lengthNormalize?: boolean;
  /** Default 1/B. */
  gradScale?: number;
  /** Default 0. */
  nllWeight?: number;
}

export interface DpoStepRef {
  /** [B] per-pair loss. */
  losses: Float64Array;
  /** [B] β(π_w − ρ_w), in the units the loss used (per-token means with length normalisation). */
  chosenRewards: Float64Array;
  rejectedRewards: Float64Array;
  /** [B] the policy log-probs the loss saw (means with length normalisation, else the sums). */
  chosenLogps: Float64Array;
  rejectedLogps: Float64Array;
  /** [2B] ∂(gradScale·Σ loss + nllWeight·NLL)/∂sums, chosen rows then rejected rows. */
  gradSums: Float64Array;
  /** −Σ π_w / Σ |y_w| over the pairs (0 without tokens). */
  nll: number;
}

/**
 * Float64 reference of the fused DPO step (`kernels/dpo.ts` `dpoStep`): from sequence sums,
 * response token counts and reference sums (each `[2B]`, chosen rows then rejected rows).
 */
export function dpoStepRef(
  sums: ArrayLike<number>,
  counts: ArrayLike<number>,
  ref: ArrayLike<number>,
  {
    lossType = "sigmoid",
    beta = DEFAULT_DPO_BETA,
    labelSmoothing = 0,
    lengthNormalize,
    gradScale,
    nllWeight = 0,
  }: DpoStepRefOptions = {},
): DpoStepRef {
  const B = sums.length / 2;
  const norm = lengthNormalize ?? lossType === "ipo";
  const scale = gradScale ?? 1 / B;
  const per = (x: number, n: number) => (norm ? (n !== 0 ? x / n : 0) : x);
  let chosenSum = 0;
  let chosenTokens = 0;
  for (let i = 0; i < B; i++) {
    chosenSum += sums[i] as number;
    chosenTokens += counts[i] as number;
  }
  const dNll = chosenTokens !== 0 ? -nllWeight / chosenTokens : 0;
  const r: DpoStepRef = {
    losses: new Float64Array(B),
    chosenRewards: new Float64Array(B),
    rejectedRewards: new Float64Array(B),
    chosenLogps: new Float64Array(B),
    rejectedLogps: new Float64Array(B),
    gradSums: new Float64Array(2 * B),
    nll: chosenTokens !== 0 ? -chosenSum / chosenTokens : 0,
  };
  for (let i = 0; i < B; i++) {
    const nw = counts[i] as number;
    const nl = counts[B + i] as number;
    const a = per(sums[i] as number, nw);
    const b = per(sums[B + i] as number, nl);
    const c = per(ref[i] as number, nw);
    const d = per(ref[B + i] as number, nl);
    const [loss, dl] = dpoPairRef(a - b - (c - d), lossType, beta, labelSmoothing);
    r.losses[i] = loss;
    r.chosenRewards[i] = beta * (a - c);
    r.rejectedRewards[i] = beta * (b - d);
    r.chosenLogps[i] = a;
    r.rejectedLogps[i] = b;
    r.gradSums[i] = per(scale * dl, nw) + dNll;
    r.gradSums[B + i] = per(-scale * dl, nl);
  }
  return r;
}
