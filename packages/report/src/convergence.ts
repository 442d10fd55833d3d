import { existsSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { areaUnderCurve, type ConvergenceEndpoints, convergenceEndpoints } from "./endpoints.js";
import { ReportError } from "./errors.js";
import type { RunSeries } from "./types.js";
import { atomicWrite, type WriteReportOptions, type WrittenReport, writeReport } from "./write.js";

/*
 * The output step of the convergence benchmark v2, shared by `npm run bench -- convergence` and
 * `sage bench convergence`: the endpoints, the HTML report and the JSON of a study, or the JSON of
 * its ablations. The inputs are structural (the shape of `@sage/trainer`'s `runConvergenceStudy`
 * result), so this package does not depend on the trainer.
 */

/** One run's totals as the comparison runner reports them (only the fields read here are named). */
export interface StudyRunDetail {
  readonly method: string;
  readonly seed: number;
  /** The run's folder (written relative to `runsRelativeTo`). */
  readonly runDir: string;
  /** Candidate indices per step (left out of the JSON). */
  readonly batches?: unknown;
  /** Mean gradient SNR over the run's measured steps (null: none measured). */
  readonly meanSnr?: number | null;
}

/** One `runComparison` result (only the fields read here are named). */
export interface StudyComparison {
  readonly runs: RunSeries[];
  readonly details: readonly StudyRunDetail[];
  readonly labelNoise?: { readonly flippedIds: readonly string[] } | null;
}

/** What both kinds of study share (`@sage/trainer`'s `ConvergenceStudyCommon`). */
export interface StudyCommonRecord {
  readonly design: {
    readonly task: string;
    readonly quick: boolean;
    readonly methods: readonly string[];
    readonly noiseMethods: readonly string[];
    readonly seeds: readonly number[];
    readonly tuningSeeds: readonly number[];
    readonly batchSize: number;
    /** The plan (written whole to the JSON). */
    readonly plan: { readonly evalProblemsPerLevel: number };
  };
  readonly candidates: { readonly pairs: number; readonly stats: Readonly<Record<string, number>> };
  /** The target as fixed on the tuning seeds (`tuningTarget`), and clamped to [1e-6, 1]. */
  readonly fixedTarget: { readonly target: number; readonly start: number; readonly final: number };
  readonly target: number;
  readonly gate: { readonly tuningGain: number; readonly points: number; readonly passed: boolean };
  /** How pass@1 is estimated, in words. */
  readonly evalDescription: string;
}

/** A comparison study: reported arm, label-noise arm, timing. */
export interface ComparisonStudyRecord extends StudyCommonRecord {
  readonly mode: "comparison";
  readonly reported: StudyComparison;
  readonly noisy: StudyComparison | null;
  readonly noise: { readonly share: number; readonly seed: number };
  readonly strataLabels: readonly string[];
  readonly designMisses: readonly string[];
  readonly timing: {
    readonly seconds: number;
    readonly unitCosts: unknown;
    readonly fullDesignMinutes: unknown;
  };
}

/** An ablation study (the variants beside uniform and sage) or the SNR probe, on the tuning seeds. */
export interface AblationStudyRecord extends StudyCommonRecord {
  readonly mode: "ablations";
  /** `ablations` (default) or `snr`: names the JSON `convergence-<kind>-…` and its `suite`. */
  readonly kind?: "ablations" | "snr";
  readonly ablations: StudyComparison;
  /** Variant name → its setting (written to the JSON). */
  readonly variants: Readonly<Record<string, unknown>>;
  readonly seconds: number;
}

export type ConvergenceStudyRecord = ComparisonStudyRecord | AblationStudyRecord;

export interface WriteConvergenceStudyOptions {
  /** Folder of the JSON (`<name>.json`) and the report (`<name>/`). */
  readonly resultsDir: string;
  /** File stem, e.g. `convergence-chains-mesa-software-llvmpipe` (ablations: `convergence-` → `convergence-ablations-`). */
  readonly name: string;
  readonly adapter: string;
  readonly machine: string;
  /** The start policy in words (a folder name, `assets/sft-chains`). */
  readonly startPolicy: string;
  /** Run folders are written relative to this folder (no machine paths in the JSON). */
  readonly runsRelativeTo: string;
  /** Report warnings and the ablation rows (default: none). */
  readonly log?: (line: string) => void;
  /** `writeReport`'s options (font, scale, png); `onWarning` goes to `log`. */
  readonly report?: Omit<WriteReportOptions, "onWarning">;
}

/** What `writeConvergenceStudy` wrote. */
export type WrittenConvergenceStudy =
  | {
      readonly mode: "comparison";
      /** `<resultsDir>/<name>.json`: endpoints, config, timing, runs, details, noise arm, verdict. */
      readonly json: string;
      /** `<resultsDir>/<name>/report.html`. */
      readonly html: string;
      readonly verdict: string;
      readonly endpoints: ConvergenceEndpoints;
    }
  | {
      readonly mode: "ablations";
      /** `<resultsDir>/<name with convergence-ablations- (or convergence-snr-)>.json`. */
      readonly json: string;
      readonly rows: AblationRow[];
    };

/** One ablation row: a method's curve summary on one tuning seed. */
export interface AblationRow {
  readonly method: string;
  readonly seed: number;
  readonly start: number;
  readonly final: number;
  /** Mean height of the pass@1-vs-steps curve (`areaUnderCurve`). */
  readonly auc: number;
  /** AUC minus `sage`'s on the same seed (pass@1 units). */
  readonly aucVsSage: number;
  /** Hardest stratum's final pass@1. */
  readonly hardestFinal: number | null;
  /** Mean gradient SNR over the run's measured steps (`details`' `meanSnr`), null when none was measured. */
  readonly meanSnr: number | null;
  /** The SNR of each evaluation interval (a point's `snr`: the mean since the previous point), in step order. */
  readonly snrByInterval: number[];
}

/**
 * Per-seed AUC, final and hardest-stratum accuracy of every ablation beside uniform and sage, and
 * the gradient SNR where it was measured (`details`: the runner's per-run totals, matched by method
 * and seed).
 */
export function ablationRows(
  runs: readonly RunSeries[],
  details: readonly StudyRunDetail[] = [],
): AblationRow[] {
  const snrOf = new Map(details.map((d) => [`${d.method}@${d.seed}`, d.meanSnr ?? null]));
  const aucOf = new Map(runs.map((r) => [`${r.method}@${r.seed}`, areaUnderCurve(r.points)]));
  return runs.map((r) => {
    const first = r.points[0]!;
    const last = r.points[r.points.length - 1]!;
    const auc = aucOf.get(`${r.method}@${r.seed}`)!;
    const sage = aucOf.get(`sage@${r.seed}`);
    return {
      method: r.method,
      seed: r.seed,
      start: first.accuracy,
      final: last.accuracy,
      auc,
      aucVsSage: sage === undefined ? Number.NaN : auc - sage,
      hardestFinal: last.byStratum?.[last.byStratum.length - 1] ?? null,
      meanSnr: snrOf.get(`${r.method}@${r.seed}`) ?? null,
      snrByInterval: r.points.flatMap((p) => (typeof p.snr === "number" ? [p.snr] : [])),
    };
  });
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

const studyTitle = (task: string, quick: boolean, methods: number, seeds: number) =>
  `Convergence (${task}${quick ? ", quick" : ""}): ${methods} methods over ${seeds} seeds`;

/** The report's notes, shared by a study's report and one rendered again from its JSON. */
const targetNote = (target: number, tuningSeeds: number, baseline: string) =>
  `Target ${pct(target)} fixed on ${tuningSeeds} tuning seed(s) (${baseline}: start + 90% of its gain).`;
const WALL_CLOCK_NOTE =
  "Wall-clock: the optimiser steps with their scoring passes, after an untimed warm-up of every method; evaluation excluded.";

const writeJson = (file: string, data: unknown) => atomicWrite(file, `${JSON.stringify(data, null, 2)}\n`);

/**
 * Write a convergence study. A comparison: its endpoints (`convergenceEndpoints` against `uniform`
 * at the tuning-fixed target, Holm over the other methods, the label-noise arm as its own family),
 * the HTML report (`writeReport`) in `<resultsDir>/<name>/` and `<resultsDir>/<name>.json` (the
 * endpoints, adapter, config, timing, runs, details, noise runs and details, verdict). Ablations:
 * the per-seed rows (`ablationRows`, also logged) and `<resultsDir>/convergence-ablations-….json`.
 */
export async function writeConvergenceStudy(
  study: ConvergenceStudyRecord,
  o: WriteConvergenceStudyOptions,
): Promise<WrittenConvergenceStudy> {
  const log = o.log ?? (() => {});
  const d = study.design;
  /** A run's details for the JSON: no batch lists, the run folder relative to `runsRelativeTo`. */
  const portable = ({ batches: _b, runDir, ...rest }: StudyRunDetail) => ({
    ...rest,
    runDir: relative(o.runsRelativeTo, runDir).split(sep).join("/"),
  });
  if (study.mode === "ablations") {
    const kind = study.kind ?? "ablations";
    const rows = ablationRows(study.ablations.runs, study.ablations.details);
    for (const r of rows)
      log(
        `${r.method.padEnd(14)} seed ${r.seed}: ${pct(r.start)} → ${pct(r.final)}, AUC ${pct(r.auc)} (${r.aucVsSage >= 0 ? "+" : ""}${(100 * r.aucVsSage).toFixed(1)} vs sage), hardest ${r.hardestFinal === null ? "n/a" : pct(r.hardestFinal)}${r.meanSnr === null ? "" : `, gradient SNR ${r.meanSnr.toPrecision(3)}`}`,
      );
    const json = `${join(o.resultsDir, o.name.replace(/^convergence-/, `convergence-${kind}-`))}.json`;
    await writeJson(json, {
      suite: `convergence-${kind}`,
      adapter: o.adapter,
      task: d.task,
      quick: d.quick,
      plan: d.plan,
      target: study.fixedTarget,
      candidates: study.candidates.pairs,
      tuningSeeds: d.tuningSeeds,
      ablations: study.variants,
      rows,
      seconds: study.seconds,
      runs: study.ablations.runs,
      details: study.ablations.details.map(portable),
      note:
        kind === "snr"
          ? "Tuning seeds only, descriptive, added after the pre-registered run (whose plan measured no SNR): gradient SNR of the selected batches, each batch as 2 micro-batches; no interval, no test."
          : "Tuning seeds only, descriptive: one setting changed at a time against the spec-v2 defaults; no interval, no test.",
    });
    return { mode: "ablations", json, rows };
  }
  const { reported, noisy, target } = study;
  const endpoints = convergenceEndpoints(reported.runs, {
    target,
    methods: d.methods.filter((m) => m !== "uniform"),
    design: { candidates: study.candidates.pairs, batchSize: d.batchSize, tuningSeeds: d.tuningSeeds },
    ...(noisy
      ? {
          noiseArm: {
            runs: noisy.runs,
            target,
            methods: d.noiseMethods.filter((m) => m !== "uniform"),
            noise: { ...study.noise, flipped: noisy.labelNoise?.flippedIds.length ?? 0 },
          },
        }
      : {}),
  });
  const config = {
    task: d.task,
    quick: d.quick,
    plan: d.plan,
    startPolicy: o.startPolicy,
    pool: { pairs: study.candidates.pairs, ...study.candidates.stats },
    strata: study.strataLabels,
    methods: d.methods,
    noiseMethods: d.noiseMethods,
    seeds: d.seeds,
    tuningSeeds: d.tuningSeeds,
    target: study.fixedTarget,
    gate: study.gate,
    designMisses: study.designMisses,
  };
  const written = await writeReport(
    {
      title: studyTitle(d.task, d.quick, d.methods.length, d.seeds.length),
      adapter: o.adapter,
      machine: o.machine,
      config,
      runs: reported.runs,
      target,
      endpoints,
      notes:
        `${targetNote(target, d.tuningSeeds.length, "uniform")} ` +
        `Accuracy: ${study.evalDescription}, ${d.plan.evalProblemsPerLevel} held-out problems per stratum (${study.strataLabels.join(", ")}). ` +
        `Pairs graded with their work. ${WALL_CLOCK_NOTE}` +
        (d.quick ? " A --quick smoke run: small pool and few steps; not evidence either way." : ""),
    },
    join(o.resultsDir, o.name),
    { ...(o.report ?? {}), onWarning: (w) => log(`report: ${w}`) },
  );
  const json = join(o.resultsDir, `${o.name}.json`);
  await writeJson(json, {
    ...endpoints,
    adapter: o.adapter,
    config,
    timing: study.timing,
    runs: reported.runs,
    details: reported.details.map(portable),
    noiseRuns: noisy?.runs ?? [],
    noiseDetails: (noisy?.details ?? []).map(portable),
    verdict: written.verdict,
  });
  return { mode: "comparison", json, html: written.html, verdict: written.verdict, endpoints };
}

/** Options of `rewriteConvergenceReport`. */
export interface RewriteConvergenceReportOptions {
  /** The machine the runs ran on, in words (the study's JSON does not record it). */
  readonly machine: string;
  /** `writeReport`'s options (font, scale, png). */
  readonly report?: WriteReportOptions;
}

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

/**
 * Render the HTML report of a finished comparison study again from its JSON (what
 * `writeConvergenceStudy` wrote: endpoints, config, runs), into `outDir` — e.g. after the report
 * gained a section. Reads nothing else and recomputes nothing: the endpoints are the JSON's own.
 * Throws a `ReportError` (`INPUT_INVALID`) naming the field when the file is not such a study.
 */
export async function rewriteConvergenceReport(
  json: unknown,
  outDir: string,
  o: RewriteConvergenceReportOptions,
): Promise<WrittenReport> {
  if (!isRecord(json) || json.suite !== "convergence") {
    throw ReportError.mismatch(
      "INPUT_INVALID",
      "study JSON",
      'the JSON of a convergence comparison (suite: "convergence")',
      isRecord(json) ? json.suite : json,
    );
  }
  const need = (key: string, ok: (v: unknown) => boolean, what: string) => {
    if (!ok(json[key])) throw ReportError.mismatch("INPUT_INVALID", `study JSON .${key}`, what, json[key]);
  };
  need("config", isRecord, "an object");
  need("runs", Array.isArray, "an array of runs");
  need("adapter", (v) => typeof v === "string", "a string");
  need("methods", Array.isArray, "an array of method names");
  need("seeds", Array.isArray, "an array of seeds");
  need("target", (v) => typeof v === "number" && v > 0 && v <= 1, "a number in (0, 1]");
  need("endpoints", isRecord, "an object");
  const config = json.config as Record<string, unknown>;
  const endpoints = json as unknown as ConvergenceEndpoints;
  const methods = 1 + endpoints.methods.length;
  return writeReport(
    {
      title: studyTitle(String(config.task), config.quick === true, methods, endpoints.seeds.length),
      adapter: json.adapter as string,
      machine: o.machine,
      config,
      runs: json.runs as RunSeries[],
      target: endpoints.target,
      baseline: endpoints.baseline,
      endpoints,
      notes:
        `${targetNote(endpoints.target, endpoints.tuningSeeds.length, endpoints.baseline)} ` +
        "Rendered again from the study's JSON (its endpoints as the run computed them; nothing recomputed). " +
        WALL_CLOCK_NOTE,
    },
    outDir,
    o.report ?? {},
  );
}

/** Options of `rewriteConvergenceReportFile`. */
export interface RewriteConvergenceReportFileOptions {
  /** The machine in words; default: the one the report being replaced names (`report.json`), else "not recorded". */
  readonly machine?: string;
  readonly report?: WriteReportOptions;
}

/**
 * `rewriteConvergenceReport` of a study's JSON file `<dir>/<name>.json` into `<dir>/<name>/` (where
 * `writeConvergenceStudy` put its report). A missing or unreadable file is `IO_FAILED`, one that is
 * not JSON or not a comparison study `INPUT_INVALID`.
 */
export async function rewriteConvergenceReportFile(
  file: string,
  o: RewriteConvergenceReportFileOptions = {},
): Promise<WrittenReport> {
  if (!file.endsWith(".json")) {
    throw ReportError.mismatch("INPUT_INVALID", "study file", "a path ending in .json", file);
  }
  const read = (path: string): string => {
    try {
      return readFileSync(path, "utf8");
    } catch (error) {
      throw new ReportError("IO_FAILED", `could not read ${path}: ${String(error)}`, { cause: error });
    }
  };
  let json: unknown;
  try {
    json = JSON.parse(read(file));
  } catch (error) {
    if (error instanceof ReportError) throw error;
    throw new ReportError(
      "INPUT_INVALID",
      `${file}: expected JSON, received text that does not parse (${String(error)})`,
      {
        cause: error,
      },
    );
  }
  const outDir = file.slice(0, -".json".length);
  let machine = o.machine;
  if (machine === undefined && existsSync(join(outDir, "report.json"))) {
    try {
      const old = JSON.parse(readFileSync(join(outDir, "report.json"), "utf8")) as { machine?: unknown };
      if (typeof old.machine === "string") machine = old.machine;
    } catch {
      // an unreadable old report names no machine; the default below says so
    }
  }
  return rewriteConvergenceReport(json, outDir, {
    machine: machine ?? "not recorded",
    ...(o.report ? { report: o.report } : {}),
  });
}
