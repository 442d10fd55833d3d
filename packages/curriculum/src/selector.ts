import type { ErrorMarginSource, PairStatsBatch, PerturbationScheme, RngState } from "@sage/stability";
import type { CurriculumConfig, SelectorName } from "./config.js";

/**
 * What the selector needs the trainer to compute before it can continue. `kind`:
 * - `pool`: policy + reference log-probs of the new candidate pool (one forward pass per pair),
 *   plus perturbed error margins per `perturbation`; with a curriculum and the default
 *   `competence: "candidates"` the same pass also measures competence;
 * - `probe` (only with `competence: "probe"`): the same for the held-out probe pairs; no perturbation.
 * The trainer answers with `Selector.refresh(stats)`, `stats` aligned row by row with `pairIds`.
 */
export interface ScoringRequest {
  readonly kind: "probe" | "pool";
  /** Dataset indices to score, in the order the stats must follow. */
  readonly pairIds: readonly number[];
  /** For `probe`, the same as `pairIds` (all of them are probes); empty for `pool`. */
  readonly probeIds: readonly number[];
  /** How to produce `stats.perturbed` (null: not needed). For token dropout the pair key is the dataset index. */
  readonly perturbation: PerturbationScheme | null;
  /**
   * The error-margin source the perturbed margins must be computed in (`policy`: length-normalised
   * policy preference; `implicit`: β·(r(y_w) − r(y_l)) with the stability config's β and
   * lengthNormalize, which needs per-token reference log-probs for token dropout).
   */
  readonly errorMargin: ErrorMarginSource;
  /** Policy forward passes this request costs (pairs × passes per pair). */
  readonly forwardPasses: number;
  /** 1-based index of the refresh this request belongs to. */
  readonly refresh: number;
  /** The step at which the refresh started. */
  readonly step: number;
}

/** Quantiles of the selected batch's scores. */
export interface ScoreQuantiles {
  readonly min: number;
  readonly q25: number;
  readonly median: number;
  readonly q75: number;
  readonly max: number;
}

/** Logging events (drained by `Selector.metrics()`). */
export type SelectorEvent =
  | {
      readonly type: "refresh";
      readonly selector: SelectorName;
      readonly step: number;
      readonly refresh: number;
      /** Highest unlocked stratum (null without a curriculum). */
      readonly frontier: number | null;
      /**
       * Reward accuracy of each stratum at this refresh, measured on its not-yet-trained pool
       * candidates (`competence: "candidates"`) or its probe set (`"probe"`); null: not measured.
       */
      readonly competence: readonly (number | null)[];
      readonly advanced: "competence" | "stall" | null;
      readonly poolSize: number;
      /** Fraction of the pool excluded as unstable (`|μ| < z_min·s`). */
      readonly unstableFraction: number;
      /** Fraction of the pool marked trivial (`σ(−m) < g_min`). */
      readonly trivialFraction: number;
      /** Pairs of the pool eligible for selection. */
      readonly eligible: number;
      /** Forward passes requested by this refresh (probes + pool). */
      readonly forwardPasses: number;
      /** Forward passes requested since the start. */
      readonly forwardPassesTotal: number;
    }
  | {
      readonly type: "batch";
      readonly selector: SelectorName;
      readonly step: number;
      readonly size: number;
      /** Pairs taken from the fallback (trivial, then unstable) because too few were eligible. */
      readonly fallback: number;
      /** Score quantiles of the batch (null for selectors that do not score). */
      readonly scoreQuantiles: ScoreQuantiles | null;
      readonly frontier: number | null;
    };

/** JSON-serialisable selector state (for checkpoints); restore with `selectorFromState`. */
export interface SelectorState {
  readonly version: 1;
  readonly name: SelectorName;
  readonly config: CurriculumConfig;
  readonly datasetSize: number;
  /** Hash of the dataset's difficulty inputs; a restore against other data is refused. */
  readonly datasetFingerprint: number;
  readonly rng: RngState;
  /** Selector-specific fields. */
  readonly data: Record<string, unknown>;
}

/**
 * What the trainer calls. One training step:
 *
 * ```ts
 * while (selector.needsRefresh(step)) {
 *   const req = selector.requestScoring();        // which pairs to score, and how
 *   selector.refresh(await computeStats(req));    // forward passes on the GPU
 * }
 * const ids = selector.nextBatch(step);           // dataset indices to train on
 * await trainStep(ids);
 * ```
 *
 * Statistics come from refresh scoring only (spec v2): the first version's "free μ update" from
 * training passes (`observeTrainingMargins`) is gone. A pair returned by `nextBatch` counts as
 * trained on (competence is measured on candidates not trained on yet).
 */
export interface Selector {
  readonly name: SelectorName;
  readonly config: CurriculumConfig;
  /**
   * True while the selector waits for statistics (`requestScoring` → `refresh`). A refresh due at
   * `step` starts here; one that needs no forward passes completes at once and returns false.
   */
  needsRefresh(step: number): boolean;
  /** The pending scoring request; throws `PROTOCOL_VIOLATED` when no refresh is in progress. */
  requestScoring(): ScoringRequest;
  /** Statistics for the pending request, rows aligned with `request.pairIds`. */
  refresh(stats: PairStatsBatch): void;
  /** Dataset indices of the batch for `step` (throws `PROTOCOL_VIOLATED` if a refresh is due). */
  nextBatch(step: number): number[];
  /** JSON-serialisable state. */
  state(): SelectorState;
  /** Events since the last call (drains the queue). */
  metrics(): SelectorEvent[];
}
