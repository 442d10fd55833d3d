import { ReportError } from "./errors.js";
import {
  mean,
  meanInterval,
  pairedBootstrapRatio,
  sampleStd,
  studentTCdf,
  studentTQuantile,
} from "./stats.js";
import { firstCrossing, groupByMethod, validateRuns } from "./summary.js";
import type { Interval, RunPoint, RunSeries } from "./types.js";

/*
 * The pre-registered endpoints of the convergence benchmark v2 (docs/benchmarks.md, "Convergence v2:
 * endpoints and runner (library)"): pure functions over `RunSeries`, no clock, no I/O.
 */

const isFiniteNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/**
 * Area under the pass@1-vs-steps curve by the trapezoidal rule, divided by the step span, so it is
 * in pass@1 units (the curve's mean height): `AUC = (1 / (s_K − s_0)) Σ_k (s_k − s_{k−1}) (a_k + a_{k−1}) / 2`.
 * Needs ≥ 2 points with increasing steps (a run as `validateRuns` accepts it).
 */
export function areaUnderCurve(points: readonly RunPoint[]): number {
  if (points.length < 2) {
    throw ReportError.mismatch(
      "INPUT_INVALID",
      "areaUnderCurve points",
      "at least 2 evaluation points",
      points.length,
    );
  }
  const span = points[points.length - 1]!.step - points[0]!.step;
  if (!(span > 0))
    throw ReportError.mismatch("INPUT_INVALID", "areaUnderCurve step span", "a span > 0", span);
  let area = 0;
  for (let k = 1; k < points.length; k++) {
    const a = points[k - 1]!;
    const b = points[k]!;
    area += ((b.step - a.step) * (a.accuracy + b.accuracy)) / 2;
  }
  return area / span;
}

/** A paired difference `mean(a − b)` over seeds with its t interval and two-sided p-value. */
export interface PairedDifference {
  /** Mean of the per-seed differences `a_i − b_i`. */
  diff: number;
  /** `diff ∓ t_{(1+c)/2, n−1} · sd / √n`; null with one pair. Equal to `diff` when sd = 0. */
  lo: number | null;
  hi: number | null;
  /** Sample SD of the differences (n − 1 denominator); 0 with one pair. */
  sd: number;
  n: number;
  /** `2 · P(T_{n−1} ≥ |diff| / (sd / √n))`; null with one pair; 1 when sd = 0 and diff = 0, 0 when sd = 0 and diff ≠ 0. */
  p: number | null;
}

/**
 * Paired t analysis of `a[i] − b[i]` (one value per seed, same seed at the same index). Throws when
 * the lists are empty, differ in length or hold a non-finite value.
 */
export function pairedDifference(
  a: readonly number[],
  b: readonly number[],
  confidence = 0.95,
): PairedDifference {
  if (a.length === 0 || a.length !== b.length) {
    throw ReportError.mismatch(
      "INPUT_INVALID",
      "pairedDifference",
      `two non-empty lists of equal length (first has ${a.length})`,
      b.length,
    );
  }
  const d = a.map((x, i) => x - b[i]!);
  for (const v of d) {
    if (!isFiniteNumber(v))
      throw ReportError.mismatch("INPUT_INVALID", "pairedDifference values", "finite numbers", v);
  }
  const n = d.length;
  const diff = mean(d);
  const sd = sampleStd(d);
  if (n < 2) return { diff, lo: null, hi: null, sd, n, p: null };
  if (sd === 0) return { diff, lo: diff, hi: diff, sd, n, p: diff === 0 ? 1 : 0 };
  const se = sd / Math.sqrt(n);
  const half = studentTQuantile((1 + confidence) / 2, n - 1) * se;
  const p = Math.min(1, 2 * studentTCdf(-Math.abs(diff / se), n - 1));
  return { diff, lo: diff - half, hi: diff + half, sd, n, p };
}

/**
 * Holm's step-down adjustment of `m` p-values (family-wise error control): sort ascending,
 * `p̃_(j) = max_{i ≤ j} min(1, (m − i + 1) · p_(i))`; returned in input order. Ties keep input order.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  for (const p of pValues) {
    if (!isFiniteNumber(p) || p < 0 || p > 1)
      throw ReportError.mismatch("INPUT_INVALID", "holmAdjust p-value", "a number in [0, 1]", p);
  }
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p, i })).sort((x, y) => x.p - y.p || x.i - y.i);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach(({ p, i }, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    out[i] = running;
  });
  return out;
}

/**
 * How the step (and wall-clock) at which a run reaches the target is read off its evaluation points:
 * `interpolate` (default, as `summarizeRuns`): linear between the last point below and the first at
 * or above the target; `first-evaluated`: the first evaluated point at or above it.
 */
export type CrossingRule = "interpolate" | "first-evaluated";

/** Steps and wall-clock at which `points` first reach `target` under `rule`; null when never (censored). */
export function crossingOf(
  points: readonly RunPoint[],
  target: number,
  rule: CrossingRule = "interpolate",
): { step: number; wallMs: number } | null {
  if (rule === "interpolate") return firstCrossing(points, target);
  if (rule !== "first-evaluated") {
    throw ReportError.mismatch("OPTION_INVALID", "crossing rule", '"interpolate" or "first-evaluated"', rule);
  }
  const p = points.find((q) => q.accuracy >= target);
  return p ? { step: p.step, wallMs: p.wallMs } : null;
}

/**
 * Minimum detectable paired difference (two-sided level `alpha`, given `power`) for `n` seeds
 * whose paired differences have standard deviation `sd`, by the t approximation
 * `MDE = (t_{1−α/2, n−1} + t_{power, n−1}) · sd / √n` (it ignores the noncentral t's extra spread,
 * so it is slightly optimistic for small n). Null with fewer than two seeds.
 */
export function minimumDetectableDifference(
  sd: number,
  n: number,
  options: { alpha?: number; power?: number } = {},
): number | null {
  const alpha = options.alpha ?? 0.05;
  const power = options.power ?? 0.8;
  if (!isFiniteNumber(sd) || sd < 0)
    throw ReportError.mismatch("INPUT_INVALID", "MDE sd", "a finite number ≥ 0", sd);
  if (!Number.isInteger(n) || n < 1)
    throw ReportError.mismatch("INPUT_INVALID", "MDE n", "an integer ≥ 1", n);
  if (!(alpha > 0 && alpha < 1))
    throw ReportError.mismatch("OPTION_INVALID", "MDE alpha", "a number in (0, 1)", alpha);
  if (!(power > 0 && power < 1))
    throw ReportError.mismatch("OPTION_INVALID", "MDE power", "a number in (0, 1)", power);
  if (n < 2) return null;
  return ((studentTQuantile(1 - alpha / 2, n - 1) + studentTQuantile(power, n - 1)) * sd) / Math.sqrt(n);
}

/** Why a target ratio is null. */
export type RatioCensoring = "censored" | "baseline-at-start";

/** `mean(method) / mean(baseline)` of steps (or ms) to the target over seeds, with a paired bootstrap interval. */
export interface TargetRatio {
  /** Null when `reason` is set. */
  ratio: number | null;
  lo: number | null;
  hi: number | null;
  /** Seeds. */
  n: number;
  /** Seeds in which the method / the baseline reached the target. */
  reached: number;
  baselineReached: number;
  /**
   * `censored`: some seed of the method or of the baseline never reached the target (the ratio of
   * means would be biased, so none is given; see `reached`); `baseline-at-start`: a baseline seed
   * was at the target at step 0 (value 0). Null when the ratio is given.
   */
  reason: RatioCensoring | null;
}

/** Options of the seeded bootstrap. */
export interface BootstrapOptions {
  confidence?: number;
  resamples?: number;
  seed?: number;
}

/**
 * Paired ratio of per-seed values to a target (null: not reached): ratio of means with a paired
 * percentile bootstrap over seeds (`pairedBootstrapRatio`), null unless every seed of both reached it.
 */
export function targetRatio(
  values: readonly (number | null)[],
  baseline: readonly (number | null)[],
  options: BootstrapOptions = {},
): TargetRatio {
  if (values.length !== baseline.length || values.length === 0) {
    throw ReportError.mismatch(
      "INPUT_INVALID",
      "targetRatio",
      `two non-empty lists of equal length (method has ${values.length})`,
      baseline.length,
    );
  }
  const n = values.length;
  const reached = values.filter((v) => v !== null).length;
  const baselineReached = baseline.filter((v) => v !== null).length;
  const base = { n, reached, baselineReached };
  if (reached < n || baselineReached < n)
    return { ratio: null, lo: null, hi: null, ...base, reason: "censored" };
  const den = baseline as number[];
  if (den.some((v) => !(v > 0)))
    return { ratio: null, lo: null, hi: null, ...base, reason: "baseline-at-start" };
  const r = pairedBootstrapRatio(values as number[], den, options);
  return { ratio: r.value, lo: r.lo, hi: r.hi, ...base, reason: null };
}

/**
 * The absolute target of a benchmark, fixed on the TUNING runs before the reported ones:
 * `start + fraction · (final − start)` of the baseline, means over its tuning seeds (start = first
 * point, final = last point). Default fraction 0.9 (90% of the baseline's mean gain).
 */
export function tuningTarget(
  tuningRuns: readonly RunSeries[],
  options: { baseline?: string; fraction?: number } = {},
): { target: number; start: number; final: number; seeds: number[] } {
  const baseline = options.baseline ?? "uniform";
  const fraction = options.fraction ?? 0.9;
  if (!(fraction > 0 && fraction <= 1))
    throw ReportError.mismatch("OPTION_INVALID", "fraction", "a number in (0, 1]", fraction);
  validateRuns(tuningRuns);
  const runs = tuningRuns.filter((r) => r.method === baseline);
  if (runs.length === 0) {
    throw ReportError.mismatch("INPUT_INVALID", "tuning runs", `runs of the baseline "${baseline}"`, [
      ...new Set(tuningRuns.map((r) => r.method)),
    ]);
  }
  const start = mean(runs.map((r) => r.points[0]!.accuracy));
  const final = mean(runs.map((r) => r.points[r.points.length - 1]!.accuracy));
  return { target: start + fraction * (final - start), start, final, seeds: runs.map((r) => r.seed) };
}

/** A paired secondary endpoint: the method's and the baseline's means and the paired difference. */
export interface PairedEndpoint {
  mean: number;
  baselineMean: number;
  diff: number;
  lo: number | null;
  hi: number | null;
}

/** A ratio endpoint (gradient SNR): means and the paired bootstrap ratio. */
export interface RatioEndpoint {
  mean: number;
  baselineMean: number;
  ratio: number | null;
  lo: number | null;
  hi: number | null;
}

/** Endpoints and power of one arm (the main comparison or the label-noise arm). */
export interface ArmEndpoints {
  baseline: string;
  /** Compared methods (the Holm family), in the order given. */
  methods: string[];
  /** Reported seeds (the baseline's, in input order). */
  seeds: number[];
  /** The common last evaluated step of every compared run. */
  steps: number;
  /** Absolute pass@1 target (fixed on the tuning seeds). */
  target: number;
  /** Baseline gain over its run, in pass@1 points (×100): mean over seeds of final − first accuracy. */
  uniformGain: number;
  endpoints: {
    /** (1) Paired AUC difference vs the baseline, t interval, raw and Holm-adjusted p. */
    auc: Record<
      string,
      { diff: number; lo: number | null; hi: number | null; p: number | null; pHolm: number | null }
    >;
    /** (2) Steps to target, method ÷ baseline. */
    stepsRatio: Record<string, TargetRatio>;
    /** (3) Wall-clock to target, method ÷ baseline. */
    wallclockRatio: Record<string, TargetRatio>;
    /** (4) Final hardest-stratum pass@1, paired difference; null without `byStratum`. */
    hardest: Record<string, PairedEndpoint | null>;
    /** (5) Mean gradient SNR, ratio to the baseline; null without `snr`. */
    snr: Record<string, RatioEndpoint | null>;
    /** (6) Scoring share (last point's scoringMs ÷ wallMs) over seeds, methods and baseline; null without `scoringMs`. */
    scoringShare: Record<string, Interval | null>;
  };
  power: {
    /** Minimum detectable AUC difference at `power` and two-sided `alpha` from the pooled SD (null: < 2 seeds). */
    mdeAuc: number | null;
    /** √(mean over methods of the variance of paired AUC differences). */
    sdPooled: number;
    n: number;
    alpha: number;
    power: number;
    /** The same from each method's own SD. */
    byMethod: Record<string, number | null>;
  };
  /** The per-seed values behind the endpoints (`seeds` order), methods and baseline. */
  perSeed: Record<
    string,
    { auc: number[]; stepsToTarget: (number | null)[]; wallMsToTarget: (number | null)[] }
  >;
}

/** The benchmark's JSON (`suite: "convergence"`). */
export interface ConvergenceEndpoints extends ArmEndpoints {
  suite: "convergence";
  /** Pairs in the shared candidate set. */
  candidates: number;
  batchSize: number;
  tuningSeeds: number[];
  confidence: number;
  crossing: CrossingRule;
  /** The same endpoints for the label-noise arm (its own Holm family and target), or null. */
  noiseArm: (ArmEndpoints & { noise: Record<string, unknown> }) | null;
}

/** One arm's runs and choices. */
export interface ArmOptions {
  /** Absolute pass@1 target in (0, 1] fixed on the tuning seeds (see `tuningTarget`). */
  target: number;
  /** Compared methods (baseline excluded); each must have a run for every baseline seed. */
  methods: readonly string[];
  /** Default `uniform`. */
  baseline?: string;
}

export interface ConvergenceEndpointsOptions extends ArmOptions {
  design: { candidates: number; batchSize: number; tuningSeeds: readonly number[] };
  /** Confidence of every interval (default 0.95). */
  confidence?: number;
  crossing?: CrossingRule;
  /** Bootstrap resamples (default 2000) and RNG seed (default 0x5a6e). */
  resamples?: number;
  bootstrapSeed?: number;
  /** Power analysis level and power (defaults 0.05 and 0.8). */
  alpha?: number;
  power?: number;
  /** The label-noise arm: its runs, target, methods and a description of the noise (copied to the JSON). */
  noiseArm?: ArmOptions & { runs: readonly RunSeries[]; noise: Record<string, unknown> };
}

interface Common {
  confidence: number;
  crossing: CrossingRule;
  bootstrap: BootstrapOptions;
  alpha: number;
  power: number;
  tuningSeeds: readonly number[];
}

function armEndpoints(runs: readonly RunSeries[], arm: ArmOptions, c: Common, where: string): ArmEndpoints {
  const baseline = arm.baseline ?? "uniform";
  const { target } = arm;
  if (!isFiniteNumber(target) || target <= 0 || target > 1) {
    throw ReportError.mismatch(
      "OPTION_INVALID",
      `${where}target`,
      "a number in (0, 1] fixed on the tuning seeds",
      target,
    );
  }
  if (!Array.isArray(arm.methods) || arm.methods.length === 0) {
    throw ReportError.mismatch(
      "OPTION_INVALID",
      `${where}methods`,
      "a non-empty list of compared methods",
      arm.methods,
    );
  }
  if (arm.methods.includes(baseline) || new Set(arm.methods).size !== arm.methods.length) {
    throw ReportError.mismatch(
      "OPTION_INVALID",
      `${where}methods`,
      `distinct methods other than the baseline "${baseline}"`,
      arm.methods,
    );
  }
  validateRuns(runs);
  const groups = groupByMethod(runs);
  const baseRuns = groups.get(baseline);
  if (!baseRuns) {
    throw ReportError.mismatch("INPUT_INVALID", `${where}runs`, `runs of the baseline "${baseline}"`, [
      ...groups.keys(),
    ]);
  }
  const seeds = baseRuns.map((r) => r.seed);
  if (seeds.length < 2) {
    throw ReportError.mismatch(
      "INPUT_INVALID",
      `${where}baseline seeds`,
      "at least 2 seeds for paired intervals",
      seeds,
    );
  }
  for (const s of seeds) {
    if (c.tuningSeeds.includes(s)) {
      throw ReportError.mismatch(
        "INPUT_INVALID",
        `${where}seeds`,
        `reported seeds disjoint from the tuning seeds ${JSON.stringify(c.tuningSeeds)}`,
        s,
      );
    }
  }
  const all = [baseline, ...arm.methods];
  // the same seeds for every method, and runs aligned to the baseline's seed order
  const aligned = new Map<string, RunSeries[]>();
  for (const method of all) {
    const group = groups.get(method);
    if (!group)
      throw ReportError.mismatch(
        "INPUT_INVALID",
        `${where}runs of "${method}"`,
        `one run per seed ${JSON.stringify(seeds)}`,
        "none",
      );
    const bySeed = new Map(group.map((r) => [r.seed, r]));
    const missing = seeds.filter((s) => !bySeed.has(s));
    const extra = group.map((r) => r.seed).filter((s) => !seeds.includes(s));
    if (missing.length > 0 || extra.length > 0) {
      throw ReportError.mismatch(
        "INPUT_INVALID",
        `${where}seeds of "${method}"`,
        `the baseline's seeds ${JSON.stringify(seeds)} (missing ${JSON.stringify(missing)}, extra ${JSON.stringify(extra)})`,
        group.map((r) => r.seed),
      );
    }
    aligned.set(
      method,
      seeds.map((s) => bySeed.get(s)!),
    );
  }
  // every compared run spans the same steps, so every AUC is over the same interval
  const first = baseRuns[0]!.points[0]!.step;
  const last = baseRuns[0]!.points[baseRuns[0]!.points.length - 1]!.step;
  for (const method of all) {
    for (const r of aligned.get(method)!) {
      const a = r.points[0]!.step;
      const b = r.points[r.points.length - 1]!.step;
      if (a !== first || b !== last) {
        throw ReportError.mismatch(
          "INPUT_INVALID",
          `${where}run (${method}, seed ${r.seed}) step span`,
          `[${first}, ${last}] like every compared run`,
          [a, b],
        );
      }
    }
  }
  if (!(last > first)) {
    throw ReportError.mismatch("INPUT_INVALID", `${where}step span`, "at least two evaluated steps", [
      first,
      last,
    ]);
  }

  const perSeed: ArmEndpoints["perSeed"] = {};
  for (const method of all) {
    const rs = aligned.get(method)!;
    const cross = rs.map((r) => crossingOf(r.points, target, c.crossing));
    perSeed[method] = {
      auc: rs.map((r) => areaUnderCurve(r.points)),
      stepsToTarget: cross.map((x) => (x ? x.step : null)),
      wallMsToTarget: cross.map((x) => (x ? x.wallMs : null)),
    };
  }
  const base = perSeed[baseline]!;
  const baseAligned = aligned.get(baseline)!;
  const uniformGain =
    100 * mean(baseAligned.map((r) => r.points[r.points.length - 1]!.accuracy - r.points[0]!.accuracy));

  const hardestOf = (r: RunSeries): number | null => {
    const p = r.points[r.points.length - 1]!;
    return p.byStratum ? p.byStratum[p.byStratum.length - 1]! : null;
  };
  const snrOf = (r: RunSeries): number | null => {
    const v = r.points.filter((p) => p.snr !== undefined).map((p) => p.snr!);
    return v.length > 0 ? mean(v) : null;
  };
  const shareOf = (r: RunSeries): number | null => {
    const p = r.points[r.points.length - 1]!;
    if (p.scoringMs === undefined) return null;
    return p.wallMs > 0 ? p.scoringMs / p.wallMs : 0;
  };
  const complete = (xs: (number | null)[]): number[] | null =>
    xs.some((x) => x === null) ? null : (xs as number[]);

  const auc: ArmEndpoints["endpoints"]["auc"] = {};
  const stepsRatio: ArmEndpoints["endpoints"]["stepsRatio"] = {};
  const wallclockRatio: ArmEndpoints["endpoints"]["wallclockRatio"] = {};
  const hardest: ArmEndpoints["endpoints"]["hardest"] = {};
  const snr: ArmEndpoints["endpoints"]["snr"] = {};
  const scoringShare: ArmEndpoints["endpoints"]["scoringShare"] = {};
  const byMethod: Record<string, number | null> = {};
  const diffs = arm.methods.map((m) => pairedDifference(perSeed[m]!.auc, base.auc, c.confidence));
  const pHolm = holmAdjust(diffs.map((d) => d.p!));
  const baseHard = complete(baseAligned.map(hardestOf));
  const baseSnr = complete(baseAligned.map(snrOf));
  arm.methods.forEach((method, k) => {
    const d = diffs[k]!;
    auc[method] = { diff: d.diff, lo: d.lo, hi: d.hi, p: d.p, pHolm: pHolm[k]! };
    byMethod[method] = minimumDetectableDifference(d.sd, d.n, { alpha: c.alpha, power: c.power });
    stepsRatio[method] = targetRatio(perSeed[method]!.stepsToTarget, base.stepsToTarget, c.bootstrap);
    wallclockRatio[method] = targetRatio(perSeed[method]!.wallMsToTarget, base.wallMsToTarget, c.bootstrap);
    const rs = aligned.get(method)!;
    const hard = complete(rs.map(hardestOf));
    if (hard && baseHard) {
      const h = pairedDifference(hard, baseHard, c.confidence);
      hardest[method] = { mean: mean(hard), baselineMean: mean(baseHard), diff: h.diff, lo: h.lo, hi: h.hi };
    } else hardest[method] = null;
    const s = complete(rs.map(snrOf));
    if (s && baseSnr) {
      const ok = baseSnr.every((v) => v > 0);
      const r = ok ? pairedBootstrapRatio(s, baseSnr, c.bootstrap) : null;
      snr[method] = {
        mean: mean(s),
        baselineMean: mean(baseSnr),
        ratio: r?.value ?? null,
        lo: r?.lo ?? null,
        hi: r?.hi ?? null,
      };
    } else snr[method] = null;
  });
  for (const method of all) {
    const sh = complete(aligned.get(method)!.map(shareOf));
    scoringShare[method] = sh ? meanInterval(sh, c.confidence) : null;
  }
  const sdPooled = Math.sqrt(mean(diffs.map((d) => d.sd * d.sd)));
  return {
    baseline,
    methods: [...arm.methods],
    seeds,
    steps: last,
    target,
    uniformGain,
    endpoints: { auc, stepsRatio, wallclockRatio, hardest, snr, scoringShare },
    power: {
      mdeAuc: minimumDetectableDifference(sdPooled, seeds.length, { alpha: c.alpha, power: c.power }),
      sdPooled,
      n: seeds.length,
      alpha: c.alpha,
      power: c.power,
      byMethod,
    },
    perSeed,
  };
}

/**
 * The pre-registered endpoints of the convergence benchmark v2 (JSON-serialisable): for each
 * compared method against `baseline` on the same seeds, (1) the paired AUC difference with a t
 * interval and Holm-adjusted p over `methods`, (2) steps and (3) wall-clock to the absolute
 * `target` as paired bootstrap ratios (null when censored), (4) final hardest-stratum pass@1,
 * (5) gradient SNR ratio, (6) scoring share, the baseline's gain and the minimum detectable AUC
 * difference; the same for `noiseArm` (its own family). Throws a `ReportError` when a method lacks
 * a seed of the baseline, runs span different steps, fewer than two seeds are given, or a reported
 * seed is one of `design.tuningSeeds`.
 */
export function convergenceEndpoints(
  runs: readonly RunSeries[],
  options: ConvergenceEndpointsOptions,
): ConvergenceEndpoints {
  const confidence = options.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1))
    throw ReportError.mismatch("OPTION_INVALID", "confidence", "a number in (0, 1)", confidence);
  const resamples = options.resamples ?? 2000;
  if (!Number.isInteger(resamples) || resamples < 1)
    throw ReportError.mismatch("OPTION_INVALID", "resamples", "an integer ≥ 1", resamples);
  const { design } = options;
  if (!design || !Number.isInteger(design.candidates) || design.candidates < 1) {
    throw ReportError.mismatch(
      "OPTION_INVALID",
      "design.candidates",
      "an integer ≥ 1 (pairs in the candidate set)",
      design?.candidates,
    );
  }
  if (!Number.isInteger(design.batchSize) || design.batchSize < 1) {
    throw ReportError.mismatch("OPTION_INVALID", "design.batchSize", "an integer ≥ 1", design.batchSize);
  }
  if (!Array.isArray(design.tuningSeeds) || !design.tuningSeeds.every(isFiniteNumber)) {
    throw ReportError.mismatch("OPTION_INVALID", "design.tuningSeeds", "a list of seeds", design.tuningSeeds);
  }
  const crossing = options.crossing ?? "interpolate";
  if (crossing !== "interpolate" && crossing !== "first-evaluated") {
    throw ReportError.mismatch("OPTION_INVALID", "crossing", '"interpolate" or "first-evaluated"', crossing);
  }
  const common: Common = {
    confidence,
    crossing,
    bootstrap: { confidence, resamples, seed: options.bootstrapSeed ?? 0x5a6e },
    alpha: options.alpha ?? 0.05,
    power: options.power ?? 0.8,
    tuningSeeds: design.tuningSeeds,
  };
  const main = armEndpoints(runs, options, common, "");
  let noiseArm: ConvergenceEndpoints["noiseArm"] = null;
  if (options.noiseArm) {
    const { runs: noisy, noise, ...arm } = options.noiseArm;
    noiseArm = { ...armEndpoints(noisy, arm, common, "noiseArm."), noise: { ...noise } };
  }
  return {
    suite: "convergence",
    candidates: design.candidates,
    batchSize: design.batchSize,
    tuningSeeds: [...design.tuningSeeds],
    confidence,
    crossing,
    ...main,
    noiseArm,
  };
}
