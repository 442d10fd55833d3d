// A run's curve is the contract between the producers (trainer, benchmarks) and this package; its
// one definition is `@sage/core`'s.
export type { RunPoint, RunSeries } from "@sage/core";

import type { RunSeries } from "@sage/core";
import type { ConvergenceEndpoints } from "./endpoints.js";

/** A mean over seeds with its two-sided confidence interval (`lo`/`hi` are null with one seed). */
export interface Interval {
  mean: number;
  lo: number | null;
  hi: number | null;
  /** Number of seeds the mean is over. */
  n: number;
}

/** A ratio of means (method ÷ baseline) with a seeded percentile-bootstrap interval. */
export interface Ratio {
  value: number;
  lo: number | null;
  hi: number | null;
}

/** Per-method summary over seeds. */
export interface MethodSummary {
  method: string;
  /** Seeds, in input order. */
  seeds: number[];
  /** Last evaluated step (max over seeds). */
  finalStep: number;
  /** Accuracy at each seed's last point. */
  finalAccuracy: Interval;
  /** Accuracy on the hardest stratum at each seed's last point; null when `byStratum` is missing. */
  finalHardest: Interval | null;
  /** Seeds whose accuracy reached `target`. */
  reachedTarget: number;
  /** Steps to reach `target` (first crossing, linearly interpolated), over the seeds that reached it. */
  stepsToTarget: Interval | null;
  /** Wall-clock ms to reach `target` (same crossing), over the seeds that reached it. */
  wallMsToTarget: Interval | null;
  /** mean stepsToTarget ÷ baseline's; null unless every seed of both methods reached the target. */
  stepsRatio: Ratio | null;
  /** mean wallMsToTarget ÷ baseline's; same condition as `stepsRatio`. */
  wallRatio: Ratio | null;
  /** Mean gradient SNR over a run's points that have one, then over seeds; null when none has. */
  snr: Interval | null;
  /** Last point's scoringMs ÷ wallMs per seed; null when `scoringMs` is missing. */
  scoringShare: Interval | null;
  /** Highest frontier reached, mean over seeds; null when no point has `frontier`. */
  finalFrontier: Interval | null;
  /** The per-seed values behind the intervals, in `seeds` order (null: not available / not reached). */
  perSeed: {
    finalAccuracy: number[];
    finalHardest: (number | null)[];
    stepsToTarget: (number | null)[];
    wallMsToTarget: (number | null)[];
  };
}

/** The computed summary of a set of runs (what `summarizeRuns` returns, JSON-serialisable). */
export interface ReportSummary {
  /** Target accuracy for steps/wall-clock to target. */
  target: number;
  /** Method the ratios are against (e.g. `uniform`); `baselineFound` says whether any run has it. */
  baseline: string;
  baselineFound: boolean;
  /** Method the verdict is about (default `sage`). */
  subject: string;
  /** Confidence level of the intervals, e.g. 0.95. */
  confidence: number;
  /** Number of difficulty strata (length of `byStratum`), 0 when the runs have none. */
  strata: number;
  /** One entry per method, in order of first appearance in `runs`. */
  methods: MethodSummary[];
}

/** Everything `writeReport` needs. */
export interface ReportInput {
  title: string;
  /** GPU adapter the runs used, as the runtime reports it (e.g. "llvmpipe (lavapipe)"). */
  adapter: string;
  /** Machine description (CPU cores, OS…). */
  machine: string;
  /** Run configuration, shown as JSON in the page and copied to the JSON output. */
  config: Record<string, unknown>;
  runs: RunSeries[];
  /** Target accuracy for steps-to-target (default 0.5). */
  target?: number;
  /** Baseline method for the ratios (default `uniform`). */
  baseline?: string;
  /** Method the verdict is about (default `sage`). */
  subject?: string;
  /** A precomputed summary; computed from `runs` with the options above when absent. */
  summary?: ReportSummary;
  /** Free text shown under the title (escaped). */
  notes?: string;
  /**
   * A convergence study's pre-registered endpoints (`convergenceEndpoints`): the page leads with
   * them (`endpointsHtml`) and the verdict with their words (`endpointsVerdict`), the summary's
   * final-pass@1 verdict following as the secondary reading.
   */
  endpoints?: ConvergenceEndpoints;
}
