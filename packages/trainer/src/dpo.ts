import { describeValue, TrainerError } from "./errors.js";

/** DPO loss variants (TRL's `loss_type` names). */
export type DpoLossType = "sigmoid" | "hinge" | "ipo";

export interface DpoLossOptions {
  /** β, the KL strength (TRL default 0.1). */
  readonly beta: number;
  readonly lossType: DpoLossType;
  /** Conservative-DPO label smoothing ε ∈ [0, 0.5) for `sigmoid` (default 0). */
  readonly labelSmoothing?: number;
}

/** Per-pair DPO quantities. `dChosen[i]` = ∂loss_i/∂ℓθ(y_w,i), `dRejected[i]` = ∂loss_i/∂ℓθ(y_l,i). */
export interface DpoLossResult {
  readonly losses: Float64Array;
  readonly dChosen: Float64Array;
  readonly dRejected: Float64Array;
  /** β (ℓθ(y_w) − ℓref(y_w)), TRL's chosen reward. */
  readonly chosenRewards: Float64Array;
  readonly rejectedRewards: Float64Array;
}

/** log(1 + e^x) without overflow. */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** σ(x) = 1 / (1 + e^−x), stable for large |x|. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * DPO loss and its derivative with respect to the policy's sequence log-probs, per pair.
 * With h = (ℓθ(y_w) − ℓref(y_w)) − (ℓθ(y_l) − ℓref(y_l)) and m = β h:
 * - `sigmoid`: −(1−ε) log σ(m) − ε log σ(−m)
 * - `hinge`:   max(0, 1 − m)
 * - `ipo`:     (h − 1/(2β))²
 * ∂loss/∂ℓθ(y_w) = ∂loss/∂h and ∂loss/∂ℓθ(y_l) = −∂loss/∂h.
 */
export function dpoLoss(
  policyChosen: ArrayLike<number>,
  policyRejected: ArrayLike<number>,
  refChosen: ArrayLike<number>,
  refRejected: ArrayLike<number>,
  options: DpoLossOptions,
): DpoLossResult {
  const { beta, lossType } = options;
  const eps = options.labelSmoothing ?? 0;
  if (!(beta > 0) || !Number.isFinite(beta)) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `beta must be a finite number > 0; received ${describeValue(beta)}`,
    );
  }
  if (!(eps >= 0 && eps < 0.5)) {
    throw new TrainerError(
      "CONFIG_INVALID",
      `labelSmoothing must be in [0, 0.5); received ${describeValue(eps)}`,
    );
  }
  const n = policyChosen.length;
  if (policyRejected.length !== n || refChosen.length !== n || refRejected.length !== n) {
    throw new TrainerError(
      "POLICY_INVALID",
      `dpoLoss needs four arrays of equal length; received ${n}, ${policyRejected.length}, ${refChosen.length}, ${refRejected.length}`,
    );
  }
  const losses = new Float64Array(n);
  const dChosen = new Float64Array(n);
  const dRejected = new Float64Array(n);
  const chosenRewards = new Float64Array(n);
  const rejectedRewards = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const rc = policyChosen[i]! - refChosen[i]!;
    const rr = policyRejected[i]! - refRejected[i]!;
    const h = rc - rr;
    const m = beta * h;
    let loss: number;
    let dh: number;
    switch (lossType) {
      case "sigmoid":
        loss = (1 - eps) * softplus(-m) + eps * softplus(m);
        dh = beta * (-(1 - eps) * sigmoid(-m) + eps * sigmoid(m));
        break;
      case "hinge":
        loss = Math.max(0, 1 - m);
        dh = m < 1 ? -beta : 0;
        break;
      case "ipo": {
        const d = h - 1 / (2 * beta);
        loss = d * d;
        dh = 2 * d;
        break;
      }
      default:
        throw new TrainerError(
          "CONFIG_INVALID",
          `unknown lossType ${describeValue(lossType)}; expected sigmoid, hinge or ipo`,
        );
    }
    losses[i] = loss;
    dChosen[i] = dh;
    dRejected[i] = -dh;
    chosenRewards[i] = beta * rc;
    rejectedRewards[i] = beta * rr;
  }
  return { losses, dChosen, dRejected, chosenRewards, rejectedRewards };
}

// The learning-rate schedule is `@sage/model`'s (one schedule for the optimiser and the loops).
export { type LearningRateSchedule, learningRateAt } from "@sage/model";
