export { type EvalCommandOptions, evalCommand, responseLineSchema } from "./commands/eval.js";
export { type PairsCommandOptions, pairsCommand } from "./commands/pairs.js";
export { type SelectCommandOptions, type SelectCommandResult, selectCommand } from "./commands/select.js";
export { type TrainCommandOptions, type TrainCommandResult, trainCommand } from "./commands/train.js";
export { loadConfigFile, validateConfig } from "./config.js";
export { CliError, type CliErrorCode } from "./errors.js";
export { type CliIo, createProgram, MISSING_COMMANDS, runCli } from "./program.js";
export {
  curriculumConfigSchema,
  type EvalConfig,
  evalConfigSchema,
  type PairsConfig,
  pairsConfigSchema,
  type SelectConfig,
  selectConfigSchema,
  stabilityConfigSchema,
  type TrainConfig,
  trainConfigSchema,
} from "./schemas.js";
