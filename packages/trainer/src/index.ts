export { atomicWriteFile, atomicWriteJson, fsyncDir } from "./atomic.js";
export {
  CHAT_TEMPLATES,
  type ChatMessage,
  type ChatTemplate,
  chatmlTemplate,
  plainTemplate,
  renderCompletion,
} from "./chat-template.js";
export {
  CHECKPOINT_FORMAT_VERSION,
  type CheckpointInfo,
  CheckpointManager,
  type CheckpointManagerOptions,
  type CheckpointManifest,
  checkpointDirName,
  jsonStateProvider,
  readManifest,
  type StateProvider,
  verifyCheckpoint,
} from "./checkpoint.js";
export {
  type ComparisonMethod,
  type ComparisonMethodSpec,
  type ComparisonOptions,
  type ComparisonPolicy,
  type ComparisonPolicyHandle,
  type ComparisonResult,
  type ComparisonRunDetail,
  type ComparisonTrainConfig,
  evalRecordToPoint,
  flipLabels,
  interleavedOrder,
  type LabelNoise,
  mergeCurriculum,
  runComparison,
  SFT_CHOSEN,
  type StartPolicyRequest,
  type WebGpuComparisonOptions,
  webGpuComparisonPolicies,
} from "./comparison.js";
export {
  type DpoTrainConfig,
  type DpoTrainConfigInput,
  dpoTrainConfigSchema,
  parseDpoTrainConfig,
} from "./config.js";
export { curriculumSelector } from "./curriculum-adapter.js";
export {
  type InvalidLine,
  type PreferencePair,
  pairToJson,
  parsePreferenceLine,
  preferenceDataHash,
  preferenceLineSchema,
  type ReadPairsOptions,
  type ReadPairsResult,
  readPreferencePairs,
  streamPreferencePairs,
  writePreferencePairs,
} from "./data.js";
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
export { describeValue, TrainerError, type TrainerErrorCode } from "./errors.js";
export {
  type ExperimentMethod,
  type ExperimentOptions,
  type ExperimentPoint,
  type ExperimentResult,
  type ExperimentRunDetail,
  type ExperimentSeries,
  type ExperimentVariant,
  runExperiment,
} from "./experiment.js";
export { sha256, sha256File } from "./hash.js";
export { readJsonlLines } from "./jsonl.js";
export {
  MetricsLogger,
  type MetricsRecord,
  readMetrics,
  SAGE_METRIC_NAMES,
  TRL_METRIC_NAMES,
} from "./metrics.js";
export {
  type BuildPairsOptions,
  type BuildPairsResult,
  buildOnPolicyPairs,
  evaluatePassAt1,
  type Grader,
  type Problem,
  readProblems,
  type SampleResponses,
  workCheckedGrade,
} from "./pairs.js";
export {
  type BatchLogProbs,
  type LogProbGradient,
  type PolicyLike,
  type SequenceLogProbs,
  type TokenDropout,
  tokenDropoutSums,
} from "./policy.js";
export { createProgress, type Progress, type ProgressOptions, silentProgress } from "./progress.js";
export { RefLogProbCache, type RefLogProbs } from "./ref-cache.js";
export { Rng, type RngState } from "./rng.js";
export type { ScoredPairs, ScoringRequest, SelectorContext, TrainingSelector } from "./selector.js";
export {
  type RunSftOptions,
  type RunSftResult,
  readSftExamples,
  runSft,
  type SequencePolicyLike,
  type SftConfig,
  type SftConfigInput,
  type SftExample,
  sftConfigSchema,
} from "./sft.js";
export { exitCodeForSignal, StopController } from "./signals.js";
export { gradientSnr, type RunDpoOptions, type RunDpoResult, type RunDpoStatus, runDpo } from "./train.js";
export {
  WebGpuPolicy,
  type WebGpuPolicyOptions,
  type WebGpuSamplerOptions,
  webGpuSampler,
} from "./webgpu-policy.js";
export { deepestIssue, describeZodError } from "./zod-issue.js";
