import { dpoLossRef } from "@sage/kernels-webgpu";
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

// σ and softplus are the spec's (`@sage/stability`); re-exported for existing imports.
export { sigmoid, softplus } from "@sage/stability";

/**
 * DPO loss and its derivative with respect to the policy's sequence log-probs, per pair: the
 * float64 reference of `@sage/kernels-webgpu` (`dpoLossRef`, the definitions the GPU kernels are
 * tested against) with the trainer's validation. With h = (ℓθ(y_w) − ℓref(y_w)) − (ℓθ(y_l) − ℓref(y_l))
 * and m = β h:
 * - `sigmoid`: −(1−ε) log σ(m) − ε log σ(−m)
 * - `hinge`:   max(0, 1 − m)
 * - `ipo`:     (h − 1/(2β))²  (on whatever log-probs are passed: the trainer passes per-token means)
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
  if (lossType !== "sigmoid" && lossType !== "hinge" && lossType !== "ipo") {
    throw new TrainerError(
      "CONFIG_INVALID",
      `unknown lossType ${describeValue(lossType)}; expected sigmoid, hinge or ipo`,
    );
  }
  const n = policyChosen.length;
  if (policyRejected.length !== n || refChosen.length !== n || refRejected.length !== n) {
    throw new TrainerError(
      "POLICY_INVALID",
      `dpoLoss needs four arrays of equal length; received ${n}, ${policyRejected.length}, ${refChosen.length}, ${refRejected.length}`,
    );
  }
  if (n === 0) {
    const e = new Float64Array(0);
    return { losses: e, dChosen: e, dRejected: e, chosenRewards: e, rejectedRewards: e };
  }
  const r = dpoLossRef(policyChosen, policyRejected, refChosen, refRejected, {
    lossType,
    beta,
    labelSmoothing: lossType === "sigmoid" ? eps : 0,
    reduction: "sum",
  });
  return {
    losses: r.losses,
    dChosen: r.gradChosen,
    dRejected: r.gradRejected,
    chosenRewards: r.chosenRewards,
    rejectedRewards: r.rejectedRewards,
  };
}

// The learning-rate schedule is `@sage/model`'s (one schedule for the optimiser and the loops).
export { type LearningRateSchedule, learningRateAt } from "@sage/model";
