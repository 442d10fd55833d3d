// Node only: installs node:fs behind WebGpuPolicy.saveState/loadState (the browser entry does not).
import "./webgpu-policy-files.js";

export {
  atomicWriteFile,
  atomicWriteJson,
  fsyncDir,
} from "./atomic.js";
// Everything that runs in a browser (the `browser` entry), then what reads or writes files.
export * from "./browser.js";
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
  type ExperimentPoint,
  type ExperimentSeries,
  evalRecordToPoint,
  flipLabels,
  interleavedOrder,
  type LabelNoise,
  mergeCurriculum,
  readComparisonResults,
  runComparison,
  SFT_CHOSEN,
  type StartPolicyRequest,
  type StoredComparisonRun,
  type WebGpuComparisonOptions,
  webGpuComparisonPolicies,
} from "./comparison.js";
export {
  ABLATION_METHODS,
  ABLATIONS,
  CHAINS_BENCH_PLAN,
  CHAINS_BENCH_QUICK_PLAN,
  type ConvergenceAblationStudy,
  type ConvergenceComparisonStudy,
  type ConvergenceDesign,
  type ConvergenceStudy,
  type ConvergenceStudyCommon,
  type ConvergenceStudyOptions,
  type ConvergenceStudyRequest,
  type ConvergenceTarget,
  checkDesign,
  convergenceDesign,
  convergencePlan,
  convergenceStudyName,
  DESIGN_MINIMUMS,
  type DesignFacts,
  type DesignMinutes,
  designFacts,
  estimateMinutes,
  evalStepsOf,
  FULL_METHODS,
  FULL_SEEDS,
  GATE_POINTS,
  METHOD_NAMES,
  methodOf,
  NOISE_METHODS,
  NOISE_SEED,
  NOISE_SHARE,
  parseMethodList,
  parseSeedList,
  QUICK_METHODS,
  QUICK_NOISE_METHODS,
  QUICK_SEEDS,
  runConvergenceStudy,
  SCORE_ONLY_NO_STABILITY,
  TUNING_SEEDS,
  type UnitCosts,
} from "./convergence.js";
export {
  type InvalidLine,
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
  type GreedyCheck,
  type GreedyCheckOptions,
  type GreedyHeldOut,
  type GreedyRunScore,
  type GreedyRunSkipped,
  type GreedyScore,
  greedyCheck,
  STUDY_ARMS,
  type StudyArm,
  studyHeldOut,
} from "./greedy-check.js";
export { sha256File } from "./hash-file.js";
export { readJsonlLines } from "./jsonl.js";
export {
  MetricsLogger,
  type MetricsRecord,
  readMetrics,
  SAGE_METRIC_NAMES,
  TRL_METRIC_NAMES,
} from "./metrics.js";
export {
  answerGrade,
  buildPlanPairs,
  CHAINS_DEMO_PLAN,
  CHAINS_GATE_PLAN,
  CHAINS_QUICK_PLAN,
  DEMO_PLAN,
  DEMO_PLANS,
  type ExperimentPlan,
  evalDescription,
  modelConfigFor,
  planEvalProblems,
  QUICK_PLAN,
  TASK_NAMES,
  TASKS,
  type TaskFamily,
  type TaskName,
  type TrainStartOptions,
  taskFamily,
  trainStartPolicy,
} from "./presets.js";
export { readProblems } from "./problems-file.js";
export {
  createProgress,
  type Progress,
  type ProgressOptions,
  silentProgress,
} from "./progress.js";
export {
  RefLogProbCache,
  type RefLogProbs,
} from "./ref-cache.js";
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
export {
  exitCodeForSignal,
  StopController,
} from "./signals.js";
export {
  gradientSnr,
  type RunDpoOptions,
  type RunDpoResult,
  type RunDpoStatus,
  runDpo,
} from "./train.js";
