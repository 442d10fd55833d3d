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
