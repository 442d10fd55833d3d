import { existsSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { createContext, formatAdapter } from "@sage/kernels-webgpu";
import {
  rewriteConvergenceReportFile,
  tuningTarget,
  writeConvergenceStudy,
  writeGreedyCheck,
} from "@sage/report";
import {
  type ConvergenceDesign,
  type ConvergenceStudyRequest,
  convergenceDesign,
  convergenceStudyName,
  greedyCheck,
  parseMethodList,
  parseSeedList,
  runConvergenceStudy,
  studyHeldOut,
  TASKS,
  TrainerError,
} from "@sage/trainer";
import { CliError } from "../errors.js";
import { machineDescription, prepareStartPolicy } from "./demo.js";

/** The benchmark suites `sage bench` knows. */
export const BENCH_SUITES = ["convergence"] as const;

/** The options of `sage bench convergence` (those of `npm run bench -- convergence`; commander's camelCase). */
export interface BenchCommandOptions {
  /** chains (default) or synthetic. */
  readonly task?: string;
  readonly quick?: boolean;
  readonly ablations?: boolean;
  /** The gradient-SNR probe on the tuning seeds (`SNR_METHODS`, `SNR_TRAIN`). */
  readonly snr?: boolean;
  /** Comma-separated method names. */
  readonly methods?: string;
  /** Comma-separated method names, or `none`. */
  readonly noiseMethods?: string;
  /** Comma-separated seeds. */
  readonly seeds?: string;
  readonly tuningSeeds?: string;
  readonly steps?: number;
  readonly model?: string;
  readonly out?: string;
  /** After a study: greedy pass@1 of its checkpoints (`greedyCheck`), nothing trained. */
  readonly greedy?: boolean;
  /** `--greedy`: the study's run folder (default `benchmarks/out/<name>-runs`). */
  readonly runs?: string;
  /** A finished study's JSON: render its HTML report again (`rewriteConvergenceReportFile`), nothing else. */
  readonly reportFrom?: string;
}

/** The library's `CONFIG_INVALID` errors of a request as usage errors (exit 2). */
function usage<T>(f: () => T): T {
  try {
    return f();
  } catch (error) {
    if (error instanceof TrainerError && error.code === "CONFIG_INVALID")
      throw new CliError("USAGE_INVALID", error.message, { cause: error });
    throw error;
  }
}

/** The study request of `sage bench convergence`'s options: the lists parsed, nothing defaulted (the library's defaults apply). */
export function convergenceRequest(o: BenchCommandOptions): ConvergenceStudyRequest {
  return usage(() => ({
    ...(o.task !== undefined ? { task: o.task } : {}),
    ...(o.quick ? { quick: true } : {}),
    ...(o.ablations ? { ablations: true } : {}),
    ...(o.snr ? { snr: true } : {}),
    ...(o.methods !== undefined ? { methods: parseMethodList("--methods", o.methods) } : {}),
    ...(o.noiseMethods !== undefined
      ? {
          noiseMethods:
            o.noiseMethods.trim() === "none" ? [] : parseMethodList("--noise-methods", o.noiseMethods),
        }
      : {}),
    ...(o.seeds !== undefined ? { seeds: parseSeedList("--seeds", o.seeds) } : {}),
    ...(o.tuningSeeds !== undefined ? { tuningSeeds: parseSeedList("--tuning-seeds", o.tuningSeeds) } : {}),
    ...(o.steps !== undefined ? { steps: o.steps } : {}),
  }));
}

/**
 * Parse and check the options of `sage bench convergence` (no GPU work): `@sage/trainer`'s
 * `convergenceDesign` of them, the pre-registered minimums included; a bad option or a full design
 * below the minimums is a `USAGE_INVALID` error (exit 2).
 */
export function convergenceSettings(o: BenchCommandOptions): ConvergenceDesign {
  if (o.reportFrom !== undefined && Object.keys(o).some((k) => k !== "reportFrom"))
    throw new CliError(
      "USAGE_INVALID",
      "--report-from takes no other option (the study's JSON holds its design)",
    );
  if (o.runs !== undefined && !o.greedy) throw new CliError("USAGE_INVALID", "--runs goes with --greedy");
  if (o.greedy && o.ablations)
    throw new CliError("USAGE_INVALID", "--greedy and --ablations are separate modes");
  if (o.greedy && o.snr) throw new CliError("USAGE_INVALID", "--greedy and --snr are separate modes");
  return usage(() => convergenceDesign(convergenceRequest(o)));
}

/**
 * `benchmarks/results` (quick: `benchmarks/out`) of the SAGE repository the command runs in (found by
 * walking up from the working directory to the folder holding `turbo.json` and `benchmarks/`);
 * outside one, `./sage-bench-results`.
 */
export function defaultResultsDir(quick: boolean, from = process.cwd()): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, "turbo.json")) && existsSync(join(dir, "benchmarks"))) {
      return join(dir, "benchmarks", quick ? "out" : "results");
    }
    const up = dirname(dir);
    if (up === dir) return resolve(from, "sage-bench-results");
    dir = up;
  }
}

export interface BenchResult {
  readonly mode: "comparison" | "ablations" | "greedy" | "report";
  /** The results JSON. */
  readonly json: string;
  /** The HTML report (comparison and report only). */
  readonly html: string | null;
  /** The plain-words verdict (comparison and report only). */
  readonly verdict: string | null;
  /** The study's run folders (resumable; `--greedy`: the folder it read; `--report-from`: null). */
  readonly runDir: string | null;
}

/**
 * `sage bench convergence`: the convergence benchmark v2, exactly as `npm run bench -- convergence`
 * runs it (`@sage/trainer`'s `runConvergenceStudy`, written by `@sage/report`'s
 * `writeConvergenceStudy`): the task's shipped start policy (or `--model`), one on-policy candidate
 * set, uniform on the tuning seeds to fix the target and the gate, every method on the reported
 * seeds and the label-noise arm (or, `--ablations`, SAGE's ablations on the tuning seeds). Results
 * go to `benchmarks/results` of the repository (`--quick`: `benchmarks/out`; or `--out`), the run
 * folders to `benchmarks/out/<name>-runs`, shared with the benchmark so a run resumes from either.
 */
export async function benchCommand(
  suite: string,
  o: BenchCommandOptions,
  log: (line: string) => void,
): Promise<BenchResult> {
  if (!(BENCH_SUITES as readonly string[]).includes(suite)) {
    throw new CliError(
      "USAGE_INVALID",
      `unknown benchmark suite ${JSON.stringify(suite.slice(0, 40))}; expected one of ${BENCH_SUITES.join(", ")}`,
    );
  }
  // the design and its pre-registered minimums, before the GPU opens
  const design = convergenceSettings(o);
  if (o.reportFrom !== undefined) {
    const json = resolve(o.reportFrom);
    const written = await rewriteConvergenceReportFile(json, {
      report: { onWarning: (w) => log(`report: ${w}`) },
    });
    return { mode: "report", json, html: written.html, verdict: written.verdict, runDir: null };
  }
  const family = TASKS[design.task];
  const ctx = await createContext({ label: "sage-bench" });
  try {
    const adapter = ctx.report ? formatAdapter(ctx.report) : "unknown adapter";
    log(`adapter: ${adapter}`);
    const name = convergenceStudyName(design.task, adapter, design.quick);
    const scratch = defaultResultsDir(true);
    const runDir = join(scratch, `${name}-runs`);
    const resultsDir = o.out !== undefined ? resolve(o.out) : defaultResultsDir(design.quick);
    const studyDir = o.runs !== undefined ? resolve(o.runs) : runDir;
    if (o.greedy && !existsSync(studyDir)) {
      throw new CliError(
        "USAGE_INVALID",
        `--greedy: no study run folder at ${studyDir}; run the study first or pass its folder with --runs`,
      );
    }
    const { model } = await prepareStartPolicy(
      {
        ...(o.model !== undefined ? { model: o.model } : {}),
        task: design.task,
        outDir: runDir,
        ctx,
        progress: false,
      },
      log,
    );
    if (o.greedy) {
      const check = await greedyCheck({ heldOut: studyHeldOut(design), model, ctx, runDir: studyDir, log });
      if (check.runs.length === 0) {
        throw new CliError(
          "USAGE_INVALID",
          `--greedy: no finished run with a final checkpoint in ${studyDir}`,
        );
      }
      const json = join(resultsDir, `${name.replace(/^convergence-/, "convergence-greedy-")}.json`);
      await writeGreedyCheck(check, {
        file: json,
        task: design.task,
        adapter,
        machine: machineDescription(),
        log,
      });
      return { mode: "greedy", json, html: null, verdict: null, runDir: studyDir };
    }
    const study = await runConvergenceStudy({
      design,
      model,
      ctx,
      runDir,
      fixTarget: (runs) => tuningTarget(runs),
      log,
    });
    const written = await writeConvergenceStudy(study, {
      resultsDir,
      name,
      adapter,
      machine: machineDescription(),
      startPolicy: o.model !== undefined ? basename(resolve(o.model)) : `assets/${family.checkpoint}`,
      runsRelativeTo: dirname(scratch),
      log,
    });
    return written.mode === "comparison"
      ? { mode: "comparison", json: written.json, html: written.html, verdict: written.verdict, runDir }
      : { mode: "ablations", json: written.json, html: null, verdict: null, runDir };
  } finally {
    ctx.destroy();
  }
}
