/**
 * `npm run bench -- convergence [--task chains|synthetic] [--quick] [--ablations] [--methods LIST] …`
 * `npm run bench -- convergence --greedy [--runs DIR]` (after a study: greedy pass@1 of its checkpoints)
 * `npm run bench -- convergence --report-from FILE` (a study's HTML report rendered again from its JSON)
 *
 * The paper's claim under our control, on the library only (no CLI): `@sage/trainer`'s
 * `runConvergenceStudy` (the design and the study; `sage bench convergence` runs the same one) on
 * the start policy shipped for the task (`@sage/cli`'s `assets/sft-chains` or `assets/sft-tiny`, or
 * `--model`): one on-policy candidate set, `uniform` on the TUNING seeds to fix the absolute target
 * (`tuningTarget` of `@sage/report`: start + 90% of its gain), then every method on the REPORTED
 * seeds, then the label-noise arm (the same candidates with a seeded 20% of chosen ↔ rejected
 * swapped); written by `@sage/report`'s `writeConvergenceStudy` (AUC differences with Holm, steps
 * and wall-clock ratios with bootstrap intervals, MDE) as `convergence-<task>-<adapter>.json` plus
 * the HTML report in `convergence-<task>-<adapter>/`.
 *
 * The full run checks the design's pre-registered minimums (docs/benchmarks.md, "Convergence v2")
 * before it samples anything, and the candidate count once the pairs are built; `--quick` is a
 * smoke run of the same code on a small pool and is not held to them.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { createContext, formatAdapter } from "@sage/kernels-webgpu";
import { loadModelDir } from "@sage/model";
import {
  rewriteConvergenceReportFile,
  tuningTarget,
  writeConvergenceStudy,
  writeGreedyCheck,
} from "@sage/report";
import {
  ABLATIONS,
  type ConvergenceStudyRequest,
  convergenceDesign,
  convergenceStudyName,
  FULL_METHODS,
  greedyCheck,
  NOISE_METHODS,
  parseMethodList,
  parseSeedList,
  QUICK_METHODS,
  QUICK_NOISE_METHODS,
  runConvergenceStudy,
  SCORE_ONLY_NO_STABILITY,
  SFT_CHOSEN,
  SNR_METHODS,
  studyHeldOut,
  TASKS,
  TrainerError,
} from "@sage/trainer";
import { BENCH_DIR, OUT_DIR, RESULTS_DIR, userPath } from "../lib/results.js";
import { positiveInt, type Suite, UsageError } from "../lib/suite.js";

const USAGE = `usage: npm run bench -- convergence [options]

  --task NAME           chains (default: chain lengths 1-5, start policy sft-chains) or synthetic
  --ablations           SAGE's ablations (${Object.keys(ABLATIONS).join(",")}) beside uniform and
                        sage, on the tuning seeds only (their own held-out split); descriptive, no
                        reported seed is touched; writes convergence-ablations-<task>-<adapter>.json
  --snr                 gradient SNR of ${SNR_METHODS.join(",")} on the tuning seeds only,
                        each batch as 2 micro-batches (SNR every 5 steps); descriptive, added after
                        the pre-registered run; writes convergence-snr-<task>-<adapter>.json
  --greedy              after a study (trains nothing): greedy pass@1 of the start policy and of
                        every finished run's final checkpoint in the study's run folder, on
                        its arm's held-out problems; descriptive, beside the sampled endpoints;
                        writes convergence-greedy-<task>-<adapter>.json
  --runs DIR            --greedy: the study's run folder (default benchmarks/out/<name>-runs)
  --report-from FILE    render a finished study's HTML report again from its JSON (FILE =
                        <dir>/<name>.json, the report goes to <dir>/<name>/); trains nothing,
                        opens no GPU, takes no other option
  --quick               smoke run: small pool, 16 steps, seeds 1,2, methods ${QUICK_METHODS.join(",")},
                        noise arm ${QUICK_NOISE_METHODS.join(",")}; not held to the design minimums;
                        results in benchmarks/out/
  --methods LIST        methods, comma-separated (default: all of ${FULL_METHODS.join(",")};
                        must include uniform and sage); also ${SFT_CHOSEN} and ${SCORE_ONLY_NO_STABILITY}
  --noise-methods LIST  the label-noise arm's methods (default ${NOISE_METHODS.join(",")}; 'none': no arm)
  --seeds LIST          reported seeds (default 1,2,3,4,5; --quick 1,2)
  --tuning-seeds LIST   seeds that fix the target, never reported (default 100)
  --steps N             DPO steps per run (default: the plan's, 150; --quick 16)
  --model DIR           start policy (default: @sage/cli's shipped checkpoint of the task)
  --out DIR             results folder (default benchmarks/results, --quick benchmarks/out)`;

/** The library's `CONFIG_INVALID` errors of a request as usage errors (exit 2, usage printed). */
function usage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof TrainerError && e.code === "CONFIG_INVALID") throw new UsageError(e.message);
    throw e;
  }
}

/** The study's request from the suite's arguments (no GPU work). */
export function parseConvergenceArgs(args: readonly string[]): {
  request: ConvergenceStudyRequest;
  modelDir: string | undefined;
  out: string | undefined;
  greedy: boolean;
  runs: string | undefined;
  reportFrom: string | undefined;
} {
  const request: {
    -readonly [K in keyof ConvergenceStudyRequest]: ConvergenceStudyRequest[K];
  } = {};
  let modelDir: string | undefined;
  let out: string | undefined;
  let runs: string | undefined;
  let reportFrom: string | undefined;
  let greedy = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--quick") {
      request.quick = true;
      continue;
    }
    if (a === "--ablations") {
      request.ablations = true;
      continue;
    }
    if (a === "--snr") {
      request.snr = true;
      continue;
    }
    if (a === "--greedy") {
      greedy = true;
      continue;
    }
    const v = args[++i];
    if (v === undefined) throw new UsageError(`${a}: expected a value`);
    if (a === "--task") request.task = v;
    else if (a === "--methods") request.methods = usage(() => parseMethodList("--methods", v));
    else if (a === "--noise-methods")
      request.noiseMethods = v === "none" ? [] : usage(() => parseMethodList("--noise-methods", v));
    else if (a === "--seeds") request.seeds = usage(() => parseSeedList("--seeds", v));
    else if (a === "--tuning-seeds") request.tuningSeeds = usage(() => parseSeedList("--tuning-seeds", v));
    else if (a === "--steps") request.steps = positiveInt(v, "--steps", 100_000);
    else if (a === "--model") modelDir = userPath(v);
    else if (a === "--out") out = userPath(v);
    else if (a === "--runs") runs = userPath(v);
    else if (a === "--report-from") reportFrom = userPath(v);
    else throw new UsageError(`unknown option '${a.slice(0, 40)}'`);
  }
  if (runs !== undefined && !greedy) throw new UsageError("--runs goes with --greedy");
  if (greedy && request.ablations) throw new UsageError("--greedy and --ablations are separate modes");
  if (greedy && request.snr) throw new UsageError("--greedy and --snr are separate modes");
  if (reportFrom !== undefined && args.length !== 2)
    throw new UsageError("--report-from takes no other option (the study's JSON holds its design)");
  return { request, modelDir, out, greedy, runs, reportFrom };
}

export const suite: Suite = {
  name: "convergence",
  description:
    "SAGE vs baselines (library runner): tuning-fixed target, paired endpoints over reported seeds, label-noise arm",
  usage: USAGE,
  async run(args) {
    const { request, modelDir, out, greedy, runs, reportFrom } = parseConvergenceArgs(args);
    if (reportFrom !== undefined) {
      if (!existsSync(reportFrom))
        throw new UsageError(`--report-from: expected a study's JSON file, found nothing at ${reportFrom}`);
      const written = await rewriteConvergenceReportFile(reportFrom, {
        report: { onWarning: (w) => console.error(`report: ${w}`) },
      });
      console.error(written.verdict);
      console.log(written.html);
      return 0;
    }
    // the design and its pre-registered minimums, before the model loads or the GPU opens
    const design = usage(() => convergenceDesign(request));
    const family = TASKS[design.task];
    const model = loadModelDir(
      modelDir ?? path.join(BENCH_DIR, "..", "packages", "cli", "assets", family.checkpoint),
    );
    const ctx = await createContext({ label: "sage-bench-convergence" });
    const adapter = ctx.report ? formatAdapter(ctx.report) : "unknown adapter";
    console.error(`adapter: ${adapter}`);
    const resultsDir = out ?? (design.quick ? OUT_DIR : RESULTS_DIR);
    const name = convergenceStudyName(design.task, adapter, design.quick);
    if (greedy) {
      const runDir = runs ?? path.join(OUT_DIR, `${name}-runs`);
      if (!existsSync(runDir)) {
        ctx.destroy();
        throw new UsageError(
          `--greedy: no study run folder at ${runDir}; run the study first or pass its folder with --runs`,
        );
      }
      try {
        return await runGreedy({
          design,
          model,
          ctx,
          adapter,
          runDir,
          file: path.join(resultsDir, `${name.replace(/^convergence-/, "convergence-greedy-")}.json`),
        });
      } finally {
        ctx.destroy();
      }
    }
    try {
      const study = await runConvergenceStudy({
        design,
        model,
        ctx,
        runDir: path.join(OUT_DIR, `${name}-runs`),
        fixTarget: (runs) => tuningTarget(runs),
        log: (line) => console.error(line),
      });
      const written = await writeConvergenceStudy(study, {
        resultsDir,
        name,
        adapter,
        machine: `${process.platform} ${process.arch}, Node ${process.version}`,
        startPolicy: modelDir ? path.basename(modelDir) : `assets/${family.checkpoint}`,
        runsRelativeTo: BENCH_DIR,
        log: (line) => console.error(line),
      });
      console.log(written.mode === "comparison" ? `${written.json}\n${written.html}` : written.json);
      return 0;
    } finally {
      ctx.destroy();
    }
  },
};

/** `--greedy`: score a finished study's checkpoints greedily (`greedyCheck`) and write them (`writeGreedyCheck`). */
async function runGreedy(o: {
  design: ReturnType<typeof convergenceDesign>;
  model: ReturnType<typeof loadModelDir>;
  ctx: Awaited<ReturnType<typeof createContext>>;
  adapter: string;
  runDir: string;
  file: string;
}): Promise<number> {
  const log = (line: string) => console.error(line);
  const check = await greedyCheck({
    heldOut: studyHeldOut(o.design),
    model: o.model,
    ctx: o.ctx,
    runDir: o.runDir,
    log,
  });
  if (check.runs.length === 0) {
    throw new UsageError(
      `no finished run with a final checkpoint in ${o.runDir}; run the study first or pass its folder with --runs`,
    );
  }
  await writeGreedyCheck(check, {
    file: o.file,
    task: o.design.task,
    adapter: o.adapter,
    machine: `${process.platform} ${process.arch}, Node ${process.version}`,
    log,
  });
  console.log(o.file);
  return 0;
}
