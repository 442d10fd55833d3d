export {
  type CompetenceMode,
  type CurriculumConfig,
  type CurriculumConfigInput,
  curriculumConfigInputSchema,
  curriculumConfigSchema,
  DEFAULT_CURRICULUM_CONFIG,
  type PerturbationMode,
  poolSizeOf,
  resolveCurriculumConfig,
  SELECTOR_NAMES,
  type SelectorName,
  selectorNameSchema,
} from "./config.js";
export { createSelector, type SelectorOptions, selectorFromState } from "./create.js";
export { type DatasetInput, datasetInfo } from "./dataset.js";
export {
  type DifficultyOptions,
  type DifficultySource,
  estimateDifficulty,
  type PairMeta,
  referencePreferenceOf,
} from "./difficulty.js";
export { CurriculumError, type CurriculumErrorCode } from "./errors.js";
export { type AdvanceReason, advanceFrontier, type FrontierState, rewardAccuracy } from "./frontier.js";
export { gumbelOrder, gumbelTopK } from "./gumbel.js";
export {
  type PairRow,
  type PairsFile,
  readPairsJsonl,
  readSelectionJsonl,
  readStatsJsonl,
  writePairRowsJsonl,
  writePlanJsonl,
  writeSelectionJsonl,
  writeStatsJsonl,
} from "./jsonl.js";
export type { ScoreQuantiles, ScoringRequest, Selector, SelectorEvent, SelectorState } from "./selector.js";
export {
  type ArmSummary,
  DEFAULT_SIMULATION_CONFIG,
  evaluateTask,
  generateTask,
  type MeanInterval,
  meanInterval,
  type SimEvalSet,
  type SimPairs,
  type SimResponses,
  type SimulatedTask,
  type SimulationArm,
  type SimulationConfig,
  type SimulationResult,
  simulate,
  simulatedStats,
  simulationStudy,
  t975,
} from "./simulate.js";
export {
  configDifferences,
  type DatasetPair,
  type NextBatches,
  type PairScores,
  type ScoringPlan,
  SelectionSession,
  type SelectPairsOptions,
  type SelectPairsResult,
  type SelectPairsState,
  type StatsLookup,
  selectPairs,
} from "./standalone.js";
export { buildStrata, type Strata } from "./strata.js";
