import { stabilityConfigSchema } from "@sage/stability";
import { z } from "zod";
import { TrainerError } from "./errors.js";
import { describeZodError } from "./zod-issue.js";

/**
 * Fields the training loops (`runDpo`, `runSft`) share, after `learningRate` in both schemas (the
 * order of the parsed config's keys, which checkpoints store, is unchanged).
 */
export const loopConfigFields = {
  lrSchedule: z.enum(["constant", "linear", "cosine"]).default("constant"),
  warmupSteps: z.number().int().min(0).default(0),
  /** Clip the global gradient norm to this (null: no clipping). */
  maxGradNorm: z.number().positive().finite().nullable().default(1),
  seed: z.number().int().safe().default(0),
  checkpointEvery: z.number().int().min(1).default(50),
  keepCheckpoints: z.number().int().min(1).default(2),
  /** Non-finite steps tolerated; the run stops at this many (the last good checkpoint stays). */
  maxNonFinite: z.number().int().min(1).default(3),
};

/** Schema of the DPO loop's configuration; defaults in `.default(...)`. Unknown fields are rejected. */
export const dpoTrainConfigSchema = z
  .object({
    /** Optimiser steps to run in total (a resumed run continues to this count). */
    steps: z.number().int().min(1),
    /** Pairs per optimiser step (split over `gradientAccumulation` micro-batches). */
    batchSize: z.number().int().min(1).default(8),
    gradientAccumulation: z.number().int().min(1).default(1),
    /**
     * DPO β: the one β of a run (default 0.1), which the selector's margins use too. Its check
     * and default are `@sage/stability`'s `beta` field.
     */
    beta: stabilityConfigSchema.shape.beta,
    lossType: z.enum(["sigmoid", "hinge", "ipo"]).default("sigmoid"),
    labelSmoothing: z.number().min(0).lt(0.5).default(0),
    /**
     * TRL's `rpo_alpha`: add α × the negative log-likelihood of the chosen responses (mean per
     * token over each micro-batch, as TRL computes it) to the DPO loss — the DPO + NLL objective of
     * Pang et al. 2024 ("Iterative Reasoning Preference Optimization"), which keeps DPO from
     * lowering the chosen answers' likelihood on reasoning tasks. 0 (default): plain DPO.
     */
    rpoAlpha: z.number().min(0).finite().default(0),
    learningRate: z.number().positive().finite().default(5e-7),
    ...loopConfigFields,
    /** Pairs per scoring / reference forward pass. */
    scoringBatchSize: z.number().int().min(1).default(32),
    /** Scoring requests a selector may make in one step before it is treated as stuck. */
    maxScoringRounds: z.number().int().min(1).default(4),
    /** Call the `evaluate` hook every this many steps (0: never). */
    evalEvery: z.number().int().min(0).default(0),
    /**
     * Log the gradient signal-to-noise ratio `grad_snr` of the selected batch every this many
     * steps (0: never); needs `gradientAccumulation ≥ 2` and a policy with `readGradient`.
     */
    gradSnrEvery: z.number().int().min(0).default(0),
  })
  .strict();

export type DpoTrainConfig = z.infer<typeof dpoTrainConfigSchema>;
export type DpoTrainConfigInput = z.input<typeof dpoTrainConfigSchema>;

/** Validate a config object; throws `CONFIG_INVALID` naming the first bad field. */
export function parseDpoTrainConfig(input: unknown, source = "config"): DpoTrainConfig {
  return parseConfig(dpoTrainConfigSchema, input, source);
}

/** Validate `input` against `schema`; throws `CONFIG_INVALID` naming `source` and the first bad field. */
export function parseConfig<S extends z.ZodType>(schema: S, input: unknown, source: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new TrainerError("CONFIG_INVALID", `${source}: ${describeZodError(parsed.error, input).text}`);
  }
  return parsed.data;
}
