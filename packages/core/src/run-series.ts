/*
 * The curve of one training run, as producers (the trainer's comparison runner, the benchmarks)
 * write it and `@sage/report` reads it: one definition for both sides.
 */

/**
 * One evaluation point of a training run. Producers (the trainer, the benchmark) write one per
 * periodic evaluation, in increasing `step` order.
 */
export interface RunPoint {
  /** Optimizer steps completed at this evaluation (integer ≥ 0, strictly increasing in a run). */
  step: number;
  /** Wall-clock since the run started, in ms, scoring passes included (≥ 0, non-decreasing). */
  wallMs: number;
  /** pass@1 on the held-out problems, overall, in [0, 1]. */
  accuracy: number;
  /** pass@1 per difficulty stratum, easiest first (the last one is the hardest), each in [0, 1]. */
  byStratum?: number[];
  /** Curriculum frontier (index of the highest unlocked stratum), for selectors that have one. */
  frontier?: number;
  /** Gradient signal-to-noise ratio of the selected batch near this step (spec: ‖ḡ‖² / mean ‖g_j − ḡ‖²). */
  snr?: number;
  /** Cumulative ms spent in scoring forward passes up to this point (part of `wallMs`). */
  scoringMs?: number;
}

/** All evaluation points of one run: one selector (`method`) with one seed. */
export interface RunSeries {
  /** Selector name, e.g. `uniform`, `sage`, `hard-mining` (any string; it is escaped in the HTML). */
  method: string;
  /** Seed of the run; (method, seed) must be unique in a report. */
  seed: number;
  points: RunPoint[];
}
