/**
 * The browser entry of `@sage/model` (the `browser` export condition): everything of the main entry
 * except what reads or writes files (`loadModelDir`, `saveModelDir`, `parseShardIndex`, `loadTokenizer`,
 * `SafetensorsFile`, `writeFileAtomic`, `writeSafetensorsFile`). Load a model from bytes instead:
 * `parseHfConfig` + `parseSafetensors` + `weightsFromTensors` + `tokenizerFromJSON`.
 */
export {
  checkBatch,
  type PromptResponse,
  packPromptResponse,
  positionIds,
  type ScoredBatch,
  type TokenBatch,
} from "./batch.js";
export type { LoadedModel } from "./checkpoint.js";
export {
  type CreateConfigOptions,
  createConfig,
  type ModelConfig,
  type ModelType,
  parameterCount,
  parseHfConfig,
  toHfConfig,
  validateConfig,
} from "./config.js";
export { ModelError, type ModelErrorCode } from "./errors.js";
export { type FinishReason, type GenerateOptions, type GenerateResult, generate } from "./gpu/generate.js";
export {
  AdamW,
  type LearningRateSchedule,
  learningRateAt,
  type OptimizerOptions,
  type OptimizerState,
  optimizerSchedule,
  type StepInfo,
  type TryStepInfo,
} from "./gpu/optimizer.js";
export { type DeviceTrainForward, Policy, type PolicyOptions, type TrainForward } from "./gpu/policy.js";
export {
  logSoftmaxRow,
  type RefForward,
  type RefParams,
  type RefSequenceLogProbs,
  referenceBackward,
  referenceForward,
  referenceSequenceLogProbs,
  referenceSequenceLogProbsBackward,
  refParamsFromWeights,
} from "./reference.js";
export {
  decodeFloat,
  FLOAT_DTYPES,
  type FloatDType,
  floatToBf16,
  floatToHalf,
  halfToFloat,
  MAX_HEADER_BYTES,
  parseHeader,
  parseSafetensors,
  type ReadOptions,
  type SafetensorsDType,
  type SafetensorsHeader,
  serializeSafetensors,
  type TensorInfo,
  type TensorToWrite,
} from "./safetensors.js";
export {
  applyStopStrings,
  argmax,
  Rng,
  type SamplingOptions,
  type StopOptions,
  sampleToken,
  samplingDistribution,
  validateSampling,
} from "./sampling.js";
export {
  CHAR_SPECIALS,
  CharTokenizer,
  checkVocab,
  type DecodeOptions,
  type EncodeOptions,
  HuggingFaceTokenizer,
  type Tokenizer,
  tokenizerFromJSON,
} from "./tokenizer.js";
export {
  cloneWeights,
  type InitOptions,
  initWeights,
  type LayerWeights,
  type ModelWeights,
  type ParamSpec,
  parameterSpecs,
  weightsFromTensors,
  weightsToTensors,
} from "./weights.js";
