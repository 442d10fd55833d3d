export {
  type CurriculumConfig,
  type CurriculumConfigInput,
  DEFAULT_CURRICULUM_CONFIG,
  type PerturbationMode,
  poolSizeOf,
  resolveCurriculumConfig,
  SELECTOR_NAMES,
  type SelectorName,
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
export { readSelectionJsonl, readStatsJsonl, writeSelectionJsonl, writeStatsJsonl } from "./jsonl.js";
export type { ScoreQuantiles, ScoringRequest, Selector, SelectorEvent, SelectorState } from "./selector.js";
export {
  DEFAULT_SIMULATION_CONFIG,
  evaluateTask,
  generateTask,
  type SimPairs,
  type SimulatedTask,
  type SimulationConfig,
  type SimulationResult,
  simulate,
  simulatedStats,
} from "./simulate.js";
export {
  type DatasetPair,
  type SelectPairsOptions,
  type SelectPairsResult,
  type SelectPairsState,
  selectPairs,
} from "./standalone.js";
export { buildStrata, type Strata } from "./strata.js";
