export {
  BENCH_SUITES,
  type BenchCommandOptions,
  type BenchResult,
  benchCommand,
  convergenceRequest,
  convergenceSettings,
  defaultResultsDir,
} from "./commands/bench.js";
export {
  DEMO_PLAN,
  type DemoCommandOptions,
  type DemoPlan,
  type DemoResult,
  demoCommand,
  demoPlan,
  MODEL_SIZES,
  type ModelSize,
  QUICK_PLAN,
  SFT_RECIPE,
  SYNTHETIC_SEEDS,
  shippedModelDir,
  syntheticGrade,
  syntheticPairGrade,
  syntheticProblems,
  syntheticPrompt,
  syntheticSftExamples,
} from "./commands/demo.js";
export {
  type EvalCommandOptions,
  type EvalCommandResult,
  evalCommand,
  responseLineSchema,
} from "./commands/eval.js";
export { type PairsCommandOptions, pairsCommand } from "./commands/pairs.js";
export { type SelectCommandOptions, type SelectCommandResult, selectCommand } from "./commands/select.js";
export { type SftCommandOptions, sftCommand } from "./commands/sft.js";
export { type TrainCommandOptions, type TrainCommandResult, trainCommand } from "./commands/train.js";
export { configFormat, loadConfigFile, validateConfig } from "./config.js";
export { CliError, type CliErrorCode } from "./errors.js";
export { type CliIo, createProgram, runCli } from "./program.js";
export {
  curriculumConfigSchema,
  type EvalConfig,
  evalConfigSchema,
  type PairsConfig,
  pairsConfigSchema,
  type SelectConfig,
  type SftFileConfig,
  selectConfigSchema,
  sftFileConfigSchema,
  stabilityConfigSchema,
  type TrainConfig,
  trainConfigSchema,
} from "./schemas.js";
