/** `@sage/core`: the small shared core of the SAGE packages (browser-safe; node-only parts in `@sage/core/node`). */
export {
  describeValue,
  type ErrorCode,
  INPUT_ERROR_CODES,
  isInputError,
  mismatchMessage,
  SageError,
} from "./errors.js";
export {
  expectJsonObject,
  JsonlError,
  jsonlLines,
  type ParseJsonlOptions,
  parseJsonl,
  parseJsonlLine,
} from "./jsonl.js";
export { Rng, type RngState } from "./rng.js";
export type { RunPoint, RunSeries } from "./run-series.js";
