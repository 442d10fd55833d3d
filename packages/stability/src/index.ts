export {
  DEFAULT_STABILITY_CONFIG,
  type ErrorMarginSource,
  resolveStabilityConfig,
  type StabilityConfig,
} from "./config.js";
export { describeValue, StabilityError, type StabilityErrorCode } from "./errors.js";
export {
  curvature,
  dpoLoss,
  dpoMargin,
  logNewtonDecrement,
  logSigmoid,
  meanStd,
  newtonDecrement,
  quantiles,
  sigmoid,
  signal,
  softplus,
} from "./math.js";
export {
  applyTokenDropout,
  forwardPassesPerPair,
  MarginHistory,
  type MarginHistoryState,
  marginsFromPasses,
  type PairTokenLogps,
  type PerturbationKind,
  type PerturbationScheme,
  policyDropoutSeed,
  type TokenDropoutOptions,
  tokenDropoutErrorMargins,
  tokenDropoutMasks,
  tokenDropoutWeights,
  tokenDropoutWeightsPadded,
} from "./perturb.js";
export { deriveSeed, hashString, mix32, Rng, type RngState } from "./rng.js";
export {
  type BaselineScoreKind,
  baselineScores,
  isTrivial,
  isUnstable,
  type PoolScores,
  referenceLoss,
  sageScore,
  scorePool,
} from "./score.js";
export {
  batchFromRecords,
  batchSize,
  emptyStatsColumns,
  errorMargins,
  implicitMargins,
  type PairStats,
  type PairStatsBatch,
  policyMargins,
  referencePreference,
  STATS_COLUMNS,
  type StatsColumns,
  subsetBatch,
  validateBatch,
} from "./stats.js";
