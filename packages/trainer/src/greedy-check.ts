import { join } from "node:path";
import type { GpuContext } from "@sage/kernels-webgpu";
import { type LoadedModel, loadModelDir } from "@sage/model";
import { CheckpointManager, verifyCheckpoint } from "./checkpoint.js";
import { readComparisonResults, webGpuComparisonPolicies } from "./comparison.js";
import type { ConvergenceDesign } from "./convergence.js";
import { TrainerError } from "./errors.js";
import type { Grader, Problem } from "./pairs.js";
import { planEvalProblems, TASKS } from "./presets.js";

/*
 * Greedy pass@1 of a finished convergence study, after the fact: the start policy and the final
 * checkpoint every run keeps (`runComparison` checkpoints at the last step; the SFT-on-chosen
 * control too, since this check exists), each decoded
 * greedily on its arm's held-out problems. The study itself scores sampled pass@1 (k draws at
 * T = 1); greedy decoding can move the other way under DPO (docs/benchmarks.md), so a reader wants
 * both. Descriptive: not one of the pre-registered endpoints, and it trains nothing.
 */

/** The study's arms, each a `runComparison` folder under the study's run folder. */
export const STUDY_ARMS = ["tuning", "reported", "noise"] as const;
export type StudyArm = (typeof STUDY_ARMS)[number];

/** Greedy pass@1 on an arm's held-out problems, overall and per stratum (`level`). */
export interface GreedyScore {
  readonly passAt1: number;
  /** `level` → pass@1, ascending levels. */
  readonly byLevel: Readonly<Record<string, number>>;
}

/** One finished run's final checkpoint, decoded greedily. */
export interface GreedyRunScore extends GreedyScore {
  readonly arm: StudyArm;
  readonly method: string;
  readonly seed: number;
  /** The checkpoint's step (the run's last). */
  readonly step: number;
}

/** A finished run that has no final checkpoint to score, and why. */
export interface GreedyRunSkipped {
  readonly arm: StudyArm;
  readonly method: string;
  readonly seed: number;
  readonly reason: string;
}

export interface GreedyCheck {
  /** Held-out problems per arm (the tuning arm has its own split). */
  readonly problems: Readonly<Record<StudyArm, number>>;
  /** The start policy, once per held-out split (`tuning`, and `reported` = the noise arm's). */
  readonly start: { readonly tuning: GreedyScore; readonly reported: GreedyScore };
  readonly runs: readonly GreedyRunScore[];
  readonly skipped: readonly GreedyRunSkipped[];
}

/** What a study's evaluations use: held-out problems per split, answer length, grader. */
export interface GreedyHeldOut {
  /** The tuning arm's held-out problems (its own split). */
  readonly tuning: readonly Problem[];
  /** The reported arm's and the noise arm's held-out problems. */
  readonly reported: readonly Problem[];
  /** Tokens per answer. */
  readonly maxNewTokens: number;
  /** Grader (default `@sage/eval-math`'s `gradeResponse`). */
  readonly grade?: Grader;
}

/** The held-out evaluation of a convergence study's design (`planEvalProblems`, the task's grader). */
export function studyHeldOut(design: ConvergenceDesign): GreedyHeldOut {
  return {
    tuning: planEvalProblems(design.plan, { tuning: true }),
    reported: planEvalProblems(design.plan),
    maxNewTokens: design.plan.maxNewTokens,
    grade: TASKS[design.task].grade,
  };
}

export interface GreedyCheckOptions {
  /** The study's held-out problems, answer length and grader (`studyHeldOut(design)`). */
  readonly heldOut: GreedyHeldOut;
  /** The start policy the study trained from (its tokenizer decodes every checkpoint). */
  readonly model: LoadedModel;
  readonly ctx: GpuContext;
  /** The study's run folder (holding `tuning/`, `reported/`, `noise/`; an absent arm has no runs). */
  readonly runDir: string;
  readonly log?: (line: string) => void;
}

function score(record: Readonly<Record<string, number>>): GreedyScore {
  const passAt1 = record["eval/pass@1"];
  if (passAt1 === undefined) {
    throw new TrainerError("POLICY_INVALID", "the evaluation returned no eval/pass@1");
  }
  const byLevel: Record<string, number> = {};
  const levels = Object.keys(record)
    .filter((k) => k.startsWith("eval/pass@1/level_"))
    .map((k) => Number(k.slice("eval/pass@1/level_".length)))
    .sort((a, b) => a - b);
  for (const l of levels) byLevel[String(l)] = record[`eval/pass@1/level_${l}`]!;
  return { passAt1, byLevel };
}

/**
 * Greedy pass@1 of the start policy and of every finished run's final checkpoint in a convergence
 * study's run folder. Each checkpoint's file hashes are verified before it loads; a run without a
 * checkpoint at its last step (e.g. an SFT-on-chosen run written before the runner kept one) is
 * listed in `skipped` with the reason. Deterministic: greedy decoding draws nothing.
 */
export async function greedyCheck(options: GreedyCheckOptions): Promise<GreedyCheck> {
  const { heldOut, model, ctx, runDir } = options;
  const log = options.log ?? (() => {});
  if (!model.tokenizer) throw new TrainerError("CONFIG_INVALID", "the start model has no tokenizer");
  const tokenizer = model.tokenizer;
  const problemsOf = (arm: StudyArm): readonly Problem[] =>
    arm === "tuning" ? heldOut.tuning : heldOut.reported;
  const greedyOf = async (weights: LoadedModel, problems: readonly Problem[]): Promise<GreedyScore> => {
    const policies = webGpuComparisonPolicies({
      model: weights,
      ctx,
      maxNewTokens: heldOut.maxNewTokens,
      evalBatchSize: 64,
      ...(heldOut.grade ? { grade: heldOut.grade } : {}),
    });
    const handle = await policies.startPolicy({ purpose: "run" });
    try {
      return score(await policies.evaluate(handle.policy, problems, { seed: 0, step: 0, method: null }));
    } finally {
      await handle.destroy?.();
    }
  };

  const start = {
    tuning: await greedyOf(model, heldOut.tuning),
    reported: await greedyOf(model, heldOut.reported),
  };
  log(
    `start policy, greedy: ${(100 * start.reported.passAt1).toFixed(1)}% (tuning split ${(100 * start.tuning.passAt1).toFixed(1)}%)`,
  );
  const runs: GreedyRunScore[] = [];
  const skipped: GreedyRunSkipped[] = [];
  for (const arm of STUDY_ARMS) {
    const armDir = join(runDir, arm);
    for (const run of await readComparisonResults(armDir)) {
      const { method, seed } = run.series;
      const latest = await new CheckpointManager(join(armDir, run.folder, "checkpoints")).latest();
      if (!latest || latest.manifest.step !== run.steps) {
        skipped.push({
          arm,
          method,
          seed,
          reason: latest
            ? `its newest checkpoint is step ${latest.manifest.step}, not the last step ${run.steps}`
            : run.kind === "sft-chosen"
              ? "no checkpoint in its run folder (the runner kept none for sft-chosen runs before greedyCheck existed)"
              : "no checkpoint in its run folder",
        });
        continue;
      }
      await verifyCheckpoint(latest.path);
      const loaded = loadModelDir(join(latest.path, "policy", "model"));
      const got = await greedyOf({ ...loaded, tokenizer }, problemsOf(arm));
      runs.push({ arm, method, seed, step: latest.manifest.step, ...got });
      log(`${arm} ${method} seed ${seed}: greedy ${(100 * got.passAt1).toFixed(1)}%`);
    }
  }
  return {
    problems: {
      tuning: heldOut.tuning.length,
      reported: heldOut.reported.length,
      noise: heldOut.reported.length,
    },
    start,
    runs,
    skipped,
  };
}
