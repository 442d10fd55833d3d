import { curriculumConfigInputSchema, selectorNameSchema } from "@sage/curriculum";
import { stabilityConfigInputSchema } from "@sage/stability";
import { dpoTrainConfigSchema, sftConfigSchema } from "@sage/trainer";
import { z } from "zod";

/**
 * `@sage/stability` fields as a config file may set them (all optional; defaults and checks are the
 * package's own `stabilityConfigSchema`).
 */
export const stabilityConfigSchema = stabilityConfigInputSchema;

/**
 * `@sage/curriculum` fields as a config file may set them (all optional; defaults and checks are
 * the package's own `curriculumConfigSchema`, `stability` included).
 */
export const curriculumConfigSchema = curriculumConfigInputSchema;

/** Config file of `sage select`. */
export const selectConfigSchema = z
  .object({
    /** Which selector (default `sage`). */
    selector: selectorNameSchema,
    /** Steps (batches) to select per call (default: the curriculum's `refreshEvery`). */
    steps: z.number().int().min(1),
    curriculum: curriculumConfigSchema,
  })
  .partial()
  .strict();

export type SelectConfig = z.infer<typeof selectConfigSchema>;

/** Config file of `sage eval`: `@sage/eval-math` grading options. */
export const evalConfigSchema = z
  .object({
    grade: z
      .object({
        relTol: z.number().min(0).finite(),
        absTol: z.number().min(0).finite(),
        percentLeniency: z.boolean(),
        unorderedLists: z.boolean(),
        equationScaling: z.boolean(),
        symbolic: z.boolean(),
        maxSteps: z.number().int().min(1),
      })
      .partial()
      .strict(),
  })
  .partial()
  .strict();

export type EvalConfig = z.infer<typeof evalConfigSchema>;

/** AdamW moments and weight decay of the WebGPU optimiser (`sage train`, `sage sft`). */
const optimizerSchema = z
  .object({
    beta1: z.number().min(0).lt(1),
    beta2: z.number().min(0).lt(1),
    eps: z.number().positive(),
    weightDecay: z.number().min(0).finite(),
  })
  .partial()
  .strict();

/** Config file of `sage train`. `train.batchSize` and `train.beta` also drive the selector. */
export const trainConfigSchema = z
  .object({
    selector: selectorNameSchema,
    /** How conversational pairs are rendered (`@sage/trainer`'s CHAT_TEMPLATES). */
    chatTemplate: z.enum(["chatml", "plain"]),
    /** `@sage/trainer` DPO loop fields (`dpoTrainConfigSchema`); `steps` may come from `--steps`. */
    train: dpoTrainConfigSchema.partial(),
    /** `@sage/curriculum` fields, except `batchSize` and `stability.beta` (set once, in `train`). */
    curriculum: curriculumConfigInputSchema
      .omit({ batchSize: true })
      .extend({ stability: stabilityConfigInputSchema.omit({ beta: true }).optional() }),
    /**
     * Greedy pass@1 evaluation on `--eval-problems` every `train.evalEvery` steps; with `samples`,
     * also sampled pass@1 (mean of `samples` answers per problem at `temperature`, default 1);
     * `saveModels` saves the model at every evaluation.
     */
    eval: z
      .object({
        maxNewTokens: z.number().int().min(1),
        batchSize: z.number().int().min(1),
        samples: z.number().int().min(1),
        temperature: z.number().min(0).finite(),
        saveModels: z.boolean(),
      })
      .partial()
      .strict(),
    /** AdamW moments and weight decay of the WebGPU optimiser. */
    optimizer: optimizerSchema,
  })
  .partial()
  .strict();

export type TrainConfig = z.infer<typeof trainConfigSchema>;

/** Config file of `sage pairs` (flags override it). */
export const pairsConfigSchema = z
  .object({
    /** Samples per problem. Default 8; 1 = one greedy answer per problem (pass rates, no pairs). */
    n: z.number().int().min(1),
    /** auto (default): work-checked for chain/synthetic word problems, answer-only otherwise. */
    grader: z.enum(["auto", "work", "answer"]),
    maxNewTokens: z.number().int().min(1),
    /** Sampling temperature (≥ 0, 0 = greedy; default 1, or 0 when n = 1). */
    temperature: z.number().min(0).finite(),
    topK: z.number().int().min(0),
    topP: z.number().gt(0).max(1),
    seed: z.number().int().min(0).safe(),
    maxPairsPerPrompt: z.number().int().min(1),
    /** Prompts per generation call. Default 16. */
    batchSize: z.number().int().min(1),
    /** Render each problem as one user message with this template before sampling (default none). */
    chatTemplate: z.enum(["none", "chatml", "plain"]),
  })
  .partial()
  .strict();

export type PairsConfig = z.infer<typeof pairsConfigSchema>;

/** Config file of `sage sft`. */
export const sftFileConfigSchema = z
  .object({
    chatTemplate: z.enum(["chatml", "plain"]),
    /** `@sage/trainer`'s `runSft` fields; `steps` may come from `--steps`. */
    train: sftConfigSchema.partial(),
    optimizer: optimizerSchema,
  })
  .partial()
  .strict();

export type SftFileConfig = z.infer<typeof sftFileConfigSchema>;
