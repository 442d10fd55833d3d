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
}
