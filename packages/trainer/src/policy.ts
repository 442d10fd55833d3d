import { applyTokenDropout, tokenDropoutMasks } from "@sage/stability";
import type { PreferencePair } from "./data.js";

/**
 * Token-dropout perturbations for the stability score (the masks of `@sage/stability`'s
 * `tokenDropoutMasks`): `k` masks per response, each token kept with probability 1 − `rho`,
 * deterministic in (`seed`, pair key, side). `pairKeys[i]` is the key of the i-th pair passed.
 */
export interface TokenDropout {
  readonly k: number;
  readonly rho: number;
  readonly seed: number;
  readonly pairKeys: readonly number[];
}

/** Sequence log-probs of a batch of pairs (response tokens only, summed). */
export interface SequenceLogProbs {
  readonly chosen: Float64Array;
  readonly rejected: Float64Array;
  /** Response token counts |y_w|, |y_l| (for length normalisation). */
  readonly chosenTokens: Uint32Array;
  readonly rejectedTokens: Uint32Array;
  /**
   * With dropout: perturbed sums (kept sum × n / kept), row-major `n × k` — pair i's are
   * `[i*k, i*k + k)`. Divide by the token count for the kept mean.
   */
  readonly chosenPerturbed?: Float64Array;
  readonly rejectedPerturbed?: Float64Array;
}

/** Policy log-probs of the pairs a gradient pass ran on, with response token counts. */
export interface BatchLogProbs {
  readonly chosen: Float64Array;
  readonly rejected: Float64Array;
  readonly chosenTokens: Uint32Array;
  readonly rejectedTokens: Uint32Array;
}

/**
 * One micro-batch's share of a step's DPO (+ NLL) objective, for policies that evaluate it where
 * their log-probs live (`accumulateDpoGradient`). The objective is
 * `gradScale · Σ_i loss_i + nllWeight · (−Σ_i ℓθ(y_w,i) / Σ_i |y_w,i|)` over the micro-batch's pairs,
 * `loss_i` one of `@sage/kernels-webgpu`'s DPO losses on sequence sums, or on per-token means when
 * `lengthNormalize` (policy and reference sums divided by the response token count: TRL's ipo).
 */
export interface DpoMicroBatchLoss {
  readonly refChosen: Float64Array;
  readonly refRejected: Float64Array;
  readonly beta: number;
  readonly lossType: "sigmoid" | "hinge" | "ipo";
  /** Label smoothing ε (sigmoid only; ignored by hinge and ipo). */
  readonly labelSmoothing: number;
  readonly lengthNormalize: boolean;
  /** 1 / (pairs in the step's batch): the batch loss is the mean over all micro-batches' pairs. */
  readonly gradScale: number;
  /** rpoAlpha · |micro-batch| / |batch| (0 without the NLL term). */
  readonly nllWeight: number;
}

/**
 * The options of `@sage/kernels-webgpu`'s fused DPO step (`dpoStep` on the GPU, `dpoStepRef` in
 * float64) for a micro-batch's loss: label smoothing only where the loss has it (sigmoid).
 */
export function dpoStepOptions(loss: DpoMicroBatchLoss) {
  return {
    lossType: loss.lossType,
    beta: loss.beta,
    labelSmoothing: loss.lossType === "sigmoid" ? loss.labelSmoothing : 0,
    lengthNormalize: loss.lengthNormalize,
    gradScale: loss.gradScale,
    nllWeight: loss.nllWeight,
  } as const;
}

/** What one micro-batch of the DPO objective reports back (per pair; log-probs are sums). */
export interface DpoMicroBatchResult extends BatchLogProbs {
  readonly losses: Float64Array;
  /** β(ℓθ − ℓref) in the units the loss used (per-token means with `lengthNormalize`). */
  readonly chosenRewards: Float64Array;
  readonly rejectedRewards: Float64Array;
  /**
   * Σ over each response's tokens of the mean over the vocabulary of the policy's logits (TRL's
   * `logits/chosen` is their sum over pairs ÷ the chosen tokens), when the policy has logits.
   */
  readonly chosenLogitSums?: Float64Array;
  readonly rejectedLogitSums?: Float64Array;
}

/** ∂(batch loss)/∂ℓθ for each pair of a micro-batch. */
export interface LogProbGradient {
  readonly chosen: Float64Array;
  readonly rejected: Float64Array;
}

/**
 * What the DPO loop needs from a policy. The CPU test policy and the WebGPU policy of
 * `@sage/model` both implement it.
 *
 * Gradient protocol of one optimiser step: `accumulateGradient` once per micro-batch (forward,
 * then `lossGradient(logps)` gives ∂loss/∂ℓθ per sequence, then backward, adding into the
 * gradient buffers), then `applyGradients` or `discardGradients`. `applyGradients` must compute
 * the global gradient norm first and, when it is not finite, discard the gradients and leave
 * weights and optimiser state untouched (`applied: false`).
 */
export interface PolicyLike {
  /** Forward passes only (no gradient): ℓθ(y|x) of chosen and rejected, plus dropout margins when asked. */
  sequenceLogProbs(
    pairs: readonly PreferencePair[],
    options?: { readonly dropout?: TokenDropout },
  ): Promise<SequenceLogProbs>;
  accumulateGradient(
    pairs: readonly PreferencePair[],
    lossGradient: (logps: BatchLogProbs) => LogProbGradient,
  ): Promise<BatchLogProbs>;
  /**
   * Optional: forward, the DPO (+ NLL) objective of `loss` and backward of one micro-batch on the
   * policy's own device (the WebGPU policy: no host round-trip before the backward is encoded).
   * Without it the trainer calls `accumulateGradient` with the float64 reference of the same loss.
   */
  accumulateDpoGradient?(
    pairs: readonly PreferencePair[],
    loss: DpoMicroBatchLoss,
  ): Promise<DpoMicroBatchResult>;
  applyGradients(options: {
    readonly learningRate: number;
    readonly maxGradNorm: number | undefined;
  }): Promise<{ gradNorm: number; applied: boolean }>;
  discardGradients(): Promise<void>;
  /**
   * Optional: the accumulated gradient as one flat vector (all parameters, fixed order). Only
   * needed for the gradient signal-to-noise diagnostic (`gradSnrEvery`).
   */
  readGradient?(): Promise<Float32Array | Float64Array>;
  /** Hash of the current weights (identifies the reference model in the ref-log-prob cache). */
  fingerprint(): Promise<string>;
  /** Save weights + optimiser state into an existing empty folder; `loadState` reads it back exactly. */
  saveState(dir: string): Promise<void>;
  loadState(dir: string): Promise<void>;
}

/**
 * The `k` token-dropout sums of one response, for `PolicyLike` implementations that have per-token
 * log-probs on the CPU: the masks of `@sage/stability`'s `tokenDropoutMasks` (every mask keeps at
 * least one token), each sum rescaled by `n / kept`. `side` 0 = chosen, 1 = rejected.
 */
export function tokenDropoutSums(
  tokenLogps: ArrayLike<number>,
  dropout: Pick<TokenDropout, "k" | "rho" | "seed">,
  pairKey: number,
  side: 0 | 1,
): Float64Array {
  const masks = tokenDropoutMasks(tokenLogps.length, {
    k: dropout.k,
    rho: dropout.rho,
    seed: dropout.seed,
    pairKey,
    side,
  });
  return applyTokenDropout(tokenLogps, masks, dropout.k);
}
