import { ReportError } from "./errors.js";
import { bootstrapRatio, meanInterval } from "./stats.js";
import type { Interval, MethodSummary, ReportSummary, RunPoint, RunSeries } from "./types.js";

/** Options of `summarizeRuns`. */
export interface SummarizeOptions {
  /** Target accuracy in (0, 1] (default 0.5). */
  target?: number;
  /** Method the ratios are against (default `uniform`). */
  baseline?: string;
  /** Method the verdict is about (default `sage`). */
  subject?: string;
  /** Confidence level of every interval, in (0, 1) (default 0.95). */
  confidence?: number;
  /** Bootstrap resamples for the ratio intervals (default 2000). */
  resamples?: number;
  /** Seed of the bootstrap RNG (default 0x5a6e). */
  seed?: number;
}

const isFiniteNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

function checkUnit(where: string, v: unknown): void {
  if (!isFiniteNumber(v) || v < 0 || v > 1)
    throw ReportError.mismatch("INPUT_INVALID", where, "a number in [0, 1]", v);
}

/**
 * Check that `runs` is well formed: at least one run, unique (method, seed), at least one point per
 * run, integer steps strictly increasing, `wallMs` finite, ≥ 0 and non-decreasing, accuracies in
 * [0, 1], the same number of strata everywhere `byStratum` is given, `scoringMs` in [0, wallMs].
 * Throws a `ReportError` (`INPUT_INVALID`) naming the run, point and field. Returns the number of strata.
 */
export function validateRuns(runs: readonly RunSeries[]): number {
  if (!Array.isArray(runs) || runs.length === 0) {
    throw ReportError.mismatch("INPUT_INVALID", "runs", "a non-empty array of RunSeries", runs);
  }
  const seen = new Set<string>();
  let strata = -1;
  runs.forEach((run, r) => {
    if (typeof run.method !== "string" || run.method.length === 0) {
      throw ReportError.mismatch("INPUT_INVALID", `runs[${r}].method`, "a non-empty string", run.method);
    }
    if (!isFiniteNumber(run.seed)) {
      throw ReportError.mismatch("INPUT_INVALID", `runs[${r}].seed`, "a finite number", run.seed);
    }
    const key = JSON.stringify([run.method, run.seed]);
    if (seen.has(key)) {
      throw ReportError.mismatch("INPUT_INVALID", `runs[${r}]`, "a unique (method, seed)", {
        method: run.method,
        seed: run.seed,
      });
    }
    seen.add(key);
    if (!Array.isArray(run.points) || run.points.length === 0) {
      throw ReportError.mismatch(
        "INPUT_INVALID",
        `runs[${r}].points (${run.method}, seed ${run.seed})`,
        "at least one point",
        run.points,
      );
    }
    let prev: RunPoint | undefined;
    run.points.forEach((p: RunPoint, i: number) => {
      const at = `runs[${r}].points[${i}] (${run.method}, seed ${run.seed})`;
      if (!Number.isInteger(p.step) || p.step < 0)
        throw ReportError.mismatch("INPUT_INVALID", `${at}.step`, "an integer ≥ 0", p.step);
      if (!isFiniteNumber(p.wallMs) || p.wallMs < 0)
        throw ReportError.mismatch("INPUT_INVALID", `${at}.wallMs`, "a finite number ≥ 0", p.wallMs);
      checkUnit(`${at}.accuracy`, p.accuracy);
      if (prev !== undefined) {
        if (p.step <= prev.step)
          throw ReportError.mismatch(
            "INPUT_INVALID",
            `${at}.step`,
            `a step > the previous point's ${prev.step}`,
            p.step,
          );
        if (p.wallMs < prev.wallMs)
          throw ReportError.mismatch(
            "INPUT_INVALID",
            `${at}.wallMs`,
            `a value ≥ the previous point's ${prev.wallMs}`,
            p.wallMs,
          );
      }
      if (p.byStratum !== undefined) {
        if (!Array.isArray(p.byStratum) || p.byStratum.length === 0) {
          throw ReportError.mismatch(
            "INPUT_INVALID",
            `${at}.byStratum`,
            "a non-empty array of accuracies",
            p.byStratum,
          );
        }
        if (strata === -1) strata = p.byStratum.length;
        else if (p.byStratum.length !== strata) {
          throw ReportError.mismatch(
            "INPUT_INVALID",
            `${at}.byStratum`,
            `${strata} strata like the earlier points`,
            p.byStratum,
          );
        }
        p.byStratum.forEach((v: number, k: number) => {
          checkUnit(`${at}.byStratum[${k}]`, v);
        });
      }
      if (p.frontier !== undefined && (!Number.isInteger(p.frontier) || p.frontier < 0)) {
        throw ReportError.mismatch("INPUT_INVALID", `${at}.frontier`, "an integer ≥ 0", p.frontier);
      }
      if (p.snr !== undefined && (!isFiniteNumber(p.snr) || p.snr < 0)) {
        throw ReportError.mismatch("INPUT_INVALID", `${at}.snr`, "a finite number ≥ 0", p.snr);
      }
      if (
        p.scoringMs !== undefined &&
        (!isFiniteNumber(p.scoringMs) || p.scoringMs < 0 || p.scoringMs > p.wallMs)
      ) {
        throw ReportError.mismatch(
          "INPUT_INVALID",
          `${at}.scoringMs`,
          `a number in [0, wallMs = ${p.wallMs}]`,
          p.scoringMs,
        );
      }
      prev = p;
    });
  });
  return Math.max(strata, 0);
}

/**
 * First crossing of `target` by a run's accuracy, linearly interpolated between the last point
 * below and the first point at or above it (in both step and wall-clock). A run already at the
 * target on its first point crosses there. Null when it never reaches it.
 */
export function firstCrossing(
  points: readonly RunPoint[],
  target: number,
): { step: number; wallMs: number } | null {
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    if (p.accuracy >= target) {
      if (i === 0) return { step: p.step, wallMs: p.wallMs };
      const q = points[i - 1]!;
      const f = (target - q.accuracy) / (p.accuracy - q.accuracy);
      return { step: q.step + f * (p.step - q.step), wallMs: q.wallMs + f * (p.wallMs - q.wallMs) };
    }
  }
  return null;
}

/** Group runs by method, keeping the order of first appearance. */
export function groupByMethod(runs: readonly RunSeries[]): Map<string, RunSeries[]> {
  const groups = new Map<string, RunSeries[]>();
  for (const run of runs) {
    const g = groups.get(run.method);
    if (g) g.push(run);
    else groups.set(run.method, [run]);
  }
  return groups;
}

const intervalOrNull = (values: number[], confidence: number): Interval | null =>
  values.length === 0 ? null : meanInterval(values, confidence);

/**
 * Summarise runs per method over seeds: final pass@1 (overall and hardest stratum), steps and
 * wall-clock to `target` (first crossing, interpolated), their ratio to `baseline` (mean ÷ mean,
 * bootstrap interval), mean gradient SNR, scoring overhead share and final frontier. Every
 * interval is a t interval over seeds at `confidence`. Validates `runs` first (see `validateRuns`).
 */
export function summarizeRuns(runs: readonly RunSeries[], options: SummarizeOptions = {}): ReportSummary {
  const target = options.target ?? 0.5;
  const baseline = options.baseline ?? "uniform";
  const subject = options.subject ?? "sage";
  const confidence = options.confidence ?? 0.95;
  if (!isFiniteNumber(target) || target <= 0 || target > 1) {
    throw ReportError.mismatch("OPTION_INVALID", "target", "a number in (0, 1]", target);
  }
  if (!isFiniteNumber(confidence) || confidence <= 0 || confidence >= 1) {
    throw ReportError.mismatch("OPTION_INVALID", "confidence", "a number in (0, 1)", confidence);
  }
  const resamples = options.resamples ?? 2000;
  if (!Number.isInteger(resamples) || resamples < 1) {
    throw ReportError.mismatch("OPTION_INVALID", "resamples", "an integer ≥ 1", resamples);
  }
  const strata = validateRuns(runs);
  const groups = groupByMethod(runs);

  const crossings = new Map<string, ({ step: number; wallMs: number } | null)[]>();
  for (const [method, group] of groups)
    crossings.set(
      method,
      group.map((r) => firstCrossing(r.points, target)),
    );
  const allReached = (method: string): { step: number; wallMs: number }[] | null => {
    const c = crossings.get(method);
    if (!c || c.some((x) => x === null)) return null;
    return c as { step: number; wallMs: number }[];
  };
  const baseCross = allReached(baseline);

  const methods: MethodSummary[] = [];
  for (const [method, group] of groups) {
    const last = group.map((r) => r.points[r.points.length - 1]!);
    const reached = (crossings.get(method) ?? []).filter(
      (c): c is { step: number; wallMs: number } => c !== null,
    );
    const hardest = last
      .filter((p) => p.byStratum !== undefined)
      .map((p) => p.byStratum![p.byStratum!.length - 1]!);
    const snrs: number[] = [];
    for (const r of group) {
      const vals = r.points.filter((p) => p.snr !== undefined).map((p) => p.snr!);
      if (vals.length > 0) snrs.push(vals.reduce((a, b) => a + b, 0) / vals.length);
    }
    const shares = last
      .filter((p) => p.scoringMs !== undefined)
      .map((p) => (p.wallMs > 0 ? p.scoringMs! / p.wallMs : 0));
    const frontiers: number[] = [];
    for (const r of group) {
      const f = r.points.filter((p) => p.frontier !== undefined).map((p) => p.frontier!);
      if (f.length > 0) frontiers.push(Math.max(...f));
    }
    const own = allReached(method);
    const ratioOpts = { confidence, resamples, seed: options.seed ?? 0x5a6e };
    // a ratio needs every seed of both methods at the target and a positive baseline value per seed
    const ratio = (pick: (c: { step: number; wallMs: number }) => number) => {
      if (own === null || baseCross === null) return null;
      if (!baseCross.every((c) => pick(c) > 0)) return null;
      return bootstrapRatio(own.map(pick), baseCross.map(pick), ratioOpts);
    };
    const cross = crossings.get(method) ?? [];
    methods.push({
      method,
      seeds: group.map((r) => r.seed),
      finalStep: Math.max(...last.map((p) => p.step)),
      finalAccuracy: meanInterval(
        last.map((p) => p.accuracy),
        confidence,
      ),
      // a stratum curve is only summarised when every seed has one
      finalHardest: hardest.length === group.length ? intervalOrNull(hardest, confidence) : null,
      reachedTarget: reached.length,
      stepsToTarget: intervalOrNull(
        reached.map((c) => c.step),
        confidence,
      ),
      wallMsToTarget: intervalOrNull(
        reached.map((c) => c.wallMs),
        confidence,
      ),
      stepsRatio: ratio((c) => c.step),
      wallRatio: ratio((c) => c.wallMs),
      snr: intervalOrNull(snrs, confidence),
      scoringShare: shares.length === group.length ? intervalOrNull(shares, confidence) : null,
      finalFrontier: intervalOrNull(frontiers, confidence),
      perSeed: {
        finalAccuracy: last.map((p) => p.accuracy),
        finalHardest: last.map((p) => (p.byStratum ? p.byStratum[p.byStratum.length - 1]! : null)),
        stepsToTarget: cross.map((c) => (c ? c.step : null)),
        wallMsToTarget: cross.map((c) => (c ? c.wallMs : null)),
      },
    });
  }
  return { target, baseline, baselineFound: groups.has(baseline), subject, confidence, strata, methods };
}
