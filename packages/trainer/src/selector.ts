import type { PerturbationScheme } from "@sage/stability";
import type { PreferencePair } from "./data.js";
import type { BatchLogProbs, SequenceLogProbs } from "./policy.js";
import type { Rng } from "./rng.js";

/** Pairs the selector wants scored with forward passes before the next selection. */
export interface ScoringRequest {
  /** Dataset indices of the pairs to score. */
  readonly indices: readonly number[];
  /**
   * Perturbations for the stability statistics. `token-dropout` runs in the same forward pass
   * (pair key = dataset index); `history` and null need the plain pass only.
   */
  readonly perturbation?: PerturbationScheme | null;
  /** Free text for logs ("pool"; "probe" with the curriculum's `competence: "probe"`). */
  readonly purpose?: string;
}

/** What the trainer hands back for a {@link ScoringRequest}: policy and reference log-probs, in request order. */
export interface ScoredPairs {
  readonly request: ScoringRequest;
  readonly logps: SequenceLogProbs;
  readonly refChosen: Float64Array;
  readonly refRejected: Float64Array;
}

/** Everything a selector may use, given once before training (and before `setState` on resume). */
export interface SelectorContext {
  readonly pairs: readonly PreferencePair[];
  readonly refChosen: Float64Array;
  readonly refRejected: Float64Array;
  /** Response token counts from the reference pass; absent when the reference log-probs came from the data. */
  readonly chosenTokens?: Uint32Array;
  readonly rejectedTokens?: Uint32Array;
  readonly beta: number;
  readonly batchSize: number;
  readonly totalSteps: number;
  /** The trainer's RNG; its state is checkpointed, so draws from it resume exactly. */
  readonly rng: Rng;
}

/**
 * The selection interface the DPO loop drives. This is the trainer's own minimal contract;
 * `@sage/curriculum`'s selectors plug in through an adapter (see the README).
 *
 * Per step: `nextScoringRequest` is called until it returns undefined (each request is scored
 * and passed to `receiveScores`), then `selectBatch`, then after the update `observeTrained`
 * with the policy log-probs of the training forward pass. The `@sage/curriculum` selectors ignore
 * them (SAGE spec v2: statistics come from refresh scoring only); other selectors may use them.
 * `getState`/`setState` must round-trip through JSON exactly for bit-for-bit resume.
 */
export interface TrainingSelector {
  readonly name: string;
  init(context: SelectorContext): void;
  nextScoringRequest(step: number): ScoringRequest | undefined;
  receiveScores(scored: ScoredPairs): void;
  selectBatch(step: number, batchSize: number): readonly number[];
  observeTrained(step: number, indices: readonly number[], logps: BatchLogProbs): void;
  /** Metrics for this step's log line, e.g. `sage/frontier`, `sage/pool_size`. */
  metrics(): Readonly<Record<string, number>>;
  getState(): unknown;
  setState(state: unknown): void;
}
