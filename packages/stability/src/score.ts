import type { StabilityConfig } from "./config.js";
import { StabilityError } from "./errors.js";
import { logSigmoid, robustZ, softplus } from "./math.js";
import {
  errorMargins,
  implicitMargins,
  type PairStatsBatch,
  referencePreference,
  validateBatch,
} from "./stats.js";

/** Everything the fine level computes for a pool, one entry per pair. */
export interface PoolScores {
  readonly n: number;
  /** K used for μ and s (1 when the batch has no perturbed margins). */
  readonly k: number;
  /** Implicit DPO margin `m`. */
  readonly margin: Float64Array;
  /** Unperturbed error margin `e` (configured source). */
  readonly errorMargin: Float64Array;
  /** Mean `μ` of the K perturbed error margins (`e` when there are none). */
  readonly mu: Float64Array;
  /** Population standard deviation `s` of the K perturbed error margins (0 when there are none). */
  readonly sd: Float64Array;
  /** Gradient weight `σ(−m)`. */
  readonly signal: Float64Array;
  /** Error term `a = min(−μ, m_cap)` (unstandardised). */
  readonly errorTerm: Float64Array;
  /** Noise term `b = log(s + s0)` (unstandardised). */
  readonly noiseTerm: Float64Array;
  /**
   * SAGE score: `S = ẑ(a) − α·ẑ(b)` with both terms standardised over this pool (`scale: "pool"`,
   * see `robustZ`), or `S = a − α·b` (`scale: "raw"`).
   */
  readonly score: Float64Array;
  /** 1 where `|μ| < z_min · s`. */
  readonly unstable: Uint8Array;
  /** 1 where `σ(−m) < g_min`. */
  readonly trivial: Uint8Array;
  readonly unstableCount: number;
  readonly trivialCount: number;
}

/**
 * SAGE's fine-level score for every pair of a batch (vectorised; O(n·K + n log n)). With the
 * default `scale: "pool"` the batch IS the pool the terms are standardised over. μ and s come from
 * `moments` when given (e.g. the `history` scheme), else from `batch.perturbed`, else μ = e, s = 0.
 * Validates the batch first: a NaN or ±Infinity anywhere throws an error naming the pair.
 */
export function scorePool(
  batch: PairStatsBatch,
  config: StabilityConfig,
  moments?: { readonly mu: Float64Array; readonly sd: Float64Array },
): PoolScores {
  const n = validateBatch(batch);
  if (moments !== undefined && (moments.mu.length !== n || moments.sd.length !== n)) {
    throw StabilityError.mismatch("SHAPE_MISMATCH", "moments (mu, sd) length", String(n), {
      mu: moments.mu.length,
      sd: moments.sd.length,
    });
  }
  const margin = implicitMargins(batch, config);
  const errorMargin = errorMargins(batch, config);
  const mu = new Float64Array(n);
  const sd = new Float64Array(n);
  const signal = new Float64Array(n);
  const score = new Float64Array(n);
  const errorTerm = new Float64Array(n);
  const noiseTerm = new Float64Array(n);
  const unstable = new Uint8Array(n);
  const trivial = new Uint8Array(n);
  const { alpha, s0, mCap, zMin } = config;
  const logGMin = Math.log(config.gMin); // −Infinity when g_min = 0: nothing is trivial
  const p = batch.perturbed;
  const k = p === undefined ? 1 : batch.k!;
  let unstableCount = 0;
  let trivialCount = 0;
  for (let i = 0; i < n; i++) {
    let mean: number;
    let std: number;
    if (moments !== undefined) {
      mean = moments.mu[i]!;
      std = moments.sd[i]!;
      if (!Number.isFinite(mean) || !(std >= 0) || !Number.isFinite(std)) {
        throw StabilityError.mismatch(
          "VALUE_NON_FINITE",
          `moments of pair at index ${i}`,
          "finite μ and s ≥ 0",
          {
            mean,
            std,
          },
        );
      }
    } else if (p === undefined) {
      mean = errorMargin[i]!;
      std = 0;
    } else {
      const o = i * k;
      let sum = 0;
      for (let j = 0; j < k; j++) sum += p[o + j]!;
      mean = sum / k;
      let ss = 0;
      for (let j = 0; j < k; j++) {
        const d = p[o + j]! - mean;
        ss += d * d;
      }
      std = Math.sqrt(ss / k);
    }
    mu[i] = mean;
    sd[i] = std;
    const m = margin[i]!;
    const logG = logSigmoid(-m);
    signal[i] = Math.exp(logG);
    errorTerm[i] = Math.min(-mean, mCap);
    noiseTerm[i] = Math.log(std + s0);
    if (Math.abs(mean) < zMin * std) {
      unstable[i] = 1;
      unstableCount++;
    }
    if (logG < logGMin) {
      trivial[i] = 1;
      trivialCount++;
    }
  }
  if (config.scale === "raw") {
    for (let i = 0; i < n; i++) score[i] = errorTerm[i]! - alpha * noiseTerm[i]!;
  } else {
    const za = robustZ(errorTerm);
    const zb = robustZ(noiseTerm);
    for (let i = 0; i < n; i++) score[i] = za[i]! - alpha * zb[i]!;
  }
  return {
    n,
    k,
    margin,
    errorMargin,
    mu,
    sd,
    signal,
    errorTerm,
    noiseTerm,
    score,
    unstable,
    trivial,
    unstableCount,
    trivialCount,
  };
}

/**
 * Single-pair SAGE score from μ and s in the `raw` form `min(−μ, m_cap) − α log(s + s0)`. The
 * default `scale: "pool"` score standardises both terms over a pool, so it exists only for a pool:
 * use `scorePool`.
 */
export function sageScore(
  mu: number,
  s: number,
  config: Pick<StabilityConfig, "alpha" | "s0" | "mCap">,
): number {
  if (!Number.isFinite(mu) || !Number.isFinite(s) || s < 0) {
    throw StabilityError.mismatch("VALUE_NON_FINITE", "sageScore(mu, s)", "finite μ and s ≥ 0", { mu, s });
  }
  return Math.min(-mu, config.mCap) - config.alpha * Math.log(s + config.s0);
}

/** Unstable filter: `|μ| < z_min · s`. */
export function isUnstable(mu: number, s: number, zMin: number): boolean {
  return Math.abs(mu) < zMin * s;
}

/** Trivial filter: `σ(−m) < g_min`, evaluated in log space. */
export function isTrivial(m: number, gMin: number): boolean {
  return logSigmoid(-m) < Math.log(gMin);
}

/** Baseline score kinds of the spec (higher = selected first). */
export type BaselineScoreKind = "hard-mining" | "small-margin" | "selective";

/**
 * Baseline scores from the same statistics (higher is selected first):
 * - `hard-mining`: the DPO loss `−log σ(m)`;
 * - `small-margin`: `−|m|` (most uncertain first);
 * - `selective`: `−L_ref` with the reference loss `L_ref = −log σ(Δref)` (easiest first),
 *   `Δref = ℓref(y_w) − ℓref(y_l)` = `m_ref / β`.
 */
export function baselineScores(
  kind: BaselineScoreKind,
  batch: PairStatsBatch,
  config: StabilityConfig,
): Float64Array {
  const n = validateBatch(batch);
  const out = new Float64Array(n);
  if (kind === "selective") {
    const d = referencePreference(batch, config);
    for (let i = 0; i < n; i++) out[i] = -softplus(-d[i]!);
    return out;
  }
  const m = implicitMargins(batch, config);
  if (kind === "hard-mining") for (let i = 0; i < n; i++) out[i] = softplus(-m[i]!);
  else if (kind === "small-margin") for (let i = 0; i < n; i++) out[i] = -Math.abs(m[i]!);
  else
    throw StabilityError.mismatch(
      "ARGUMENT_INVALID",
      "baseline kind",
      '"hard-mining", "small-margin" or "selective"',
      kind,
    );
  return out;
}

/** Reference loss `−log σ(Δref)` of one pair (Selective DPO's easy-first key). */
export function referenceLoss(referenceChosen: number, referenceRejected: number): number {
  return softplus(-(referenceChosen - referenceRejected));
}
