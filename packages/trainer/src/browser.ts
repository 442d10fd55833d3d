/**
 * The browser entry of `@sage/trainer` (the `browser` export condition): the parts of the trainer that
 * need no file system — DPO losses and schedules, on-policy pairs and pass@1 from `Problem` objects,
 * the curriculum selector adapter, the WebGPU policy (with `saveState`/`loadState` unavailable) and
 * its sampler, the task families' prompts, problems and start-policy recipes, and the stages of the
 * DPO loop (`referencePass`, `startSelector`, `scoringRounds`, `trainStep`, `optimizerStep`) that
 * `runDpo` runs between its file work. `runDpo`, SFT, checkpoints, metrics logs, reference caches, JSONL readers and the
 * comparison runner read and write run folders and stay on the main (Node) entry.
 */
export {
  CHAT_TEMPLATES,
  type ChatMessage,
  type ChatTemplate,
  chatmlTemplate,
  plainTemplate,
  renderCompletion,
} from "./chat-template.js";
export {
  type DpoTrainConfig,
  type DpoTrainConfigInput,
  dpoTrainConfigSchema,
  parseDpoTrainConfig,
} from "./config.js";
export { curriculumSelector } from "./curriculum-adapter.js";
export type { PreferencePair } from "./data.js";
export {
  type DpoLossOptions,
  type DpoLossResult,
  type DpoLossType,
  dpoLoss,
  type LearningRateSchedule,
  learningRateAt,
  sigmoid,
  softplus,
} from "./dpo.js";
export {
  checkDpoRun,
  type DpoStepMetrics,
  type DpoStepResult,
  type NonFiniteKind,
  type OptimizerStepConfig,
  type OptimizerStepResult,
  optimizerStep,
  type ReferenceLogProbs,
  referencePass,
  type ScoringRoundsResult,
  scoringRounds,
  startSelector,
  trainStep,
} from "./dpo-stages.js";
export { describeValue, TrainerError, type TrainerErrorCode } from "./errors.js";
export { sha256 } from "./hash.js";
export {
  type BuildPairsOptions,
  type BuildPairsResult,
  buildOnPolicyPairs,
  evaluatePassAt1,
  type Grader,
  type Problem,
  type SampleResponses,
  workCheckedGrade,
} from "./pairs.js";
export {
  type BatchLogProbs,
  type DpoMicroBatchLoss,
  type DpoMicroBatchResult,
  type LogProbGradient,
  type PolicyLike,
  type SequenceLogProbs,
  type TokenDropout,
  tokenDropoutSums,
} from "./policy.js";
export {
  CHAINS_LENGTHS,
  CHAINS_SEEDS,
  chainsProblems,
  chainsSftExamples,
  chainsStepErrorRate,
  MODEL_SIZES,
  type ModelSize,
  SFT_CHAINS_RECIPE,
  SFT_TINY_RECIPE,
  type SftStage,
  type StartRecipe,
  SYNTHETIC_SEEDS,
  sftJsonl,
  syntheticProblems,
  syntheticPrompt,
  syntheticSftExamples,
} from "./recipes.js";
export { Rng, type RngState } from "./rng.js";
export type { ScoredPairs, ScoringRequest, SelectorContext, TrainingSelector } from "./selector.js";
export {
  type PolicyStateFiles,
  WebGpuPolicy,
  type WebGpuPolicyOptions,
  type WebGpuSamplerOptions,
  webGpuSampler,
} from "./webgpu-policy.js";
export { deepestIssue, describeZodError } from "./zod-issue.js";
