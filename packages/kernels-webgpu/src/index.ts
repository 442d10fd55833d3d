export { type AdapterReport, formatAdapter, reportAdapter } from "./runtime/adapter.js";
export {
  type Binding,
  type BindingRange,
  type ContextFromDeviceOptions,
  type CreateContextOptions,
  contextFromDevice,
  createContext,
  DEFAULT_DAWN_FLAGS,
  DEFAULT_OPTIONAL_FEATURES,
  type Dispatch,
  GpuContext,
  type KernelTiming,
  Tensor,
} from "./runtime/context.js";
export { bytesPerElement, type DType, type TypedArrayFor } from "./runtime/dtype.js";
export { describe, KernelError, type KernelErrorCode } from "./runtime/errors.js";
export { assertFinite, countNonFinite } from "./runtime/finite.js";
export {
  defineUniforms,
  type UniformField,
  type UniformFields,
  type UniformLayout,
  type UniformScalar,
  type UniformType,
  type UniformValue,
  type UniformValues,
} from "./runtime/uniforms.js";
export { BufferUsage, MapMode } from "./runtime/usage.js";

// --- loss kernels (token log-probs, sequence reductions, DPO losses)

export {
  DEFAULT_DPO_BETA,
  DPO_LOSS_TYPES,
  DPO_METRIC_NAMES,
  DPO_RESULT_FIELDS,
  DPO_STEP_ROWS,
  type DpoInputs,
  type DpoKernelParams,
  type DpoLossType,
  type DpoMetrics,
  type DpoOptions,
  type DpoResult,
  type DpoStepInputs,
  type DpoStepOptions,
  type DpoStepResult,
  dpoLoss,
  dpoStep,
  dpoStepWgsl,
  dpoWgsl,
  readDpoMetrics,
} from "./kernels/dpo.js";
export {
  type Logits,
  logprobBackwardWgsl,
  logprobForwardWgsl,
  type TokenLogprobsBackwardOptions,
  type TokenLogprobsOptions,
  type TokenLogprobsResult,
  tokenLogprobs,
  tokenLogprobsBackward,
} from "./kernels/logprob.js";
export {
  type MaskedSequenceSumsResult,
  maskedSequenceSums,
  type SeqReduceOptions,
  type SequenceLogprobsResult,
  type SequenceSpec,
  seqReduceBackwardWgsl,
  seqReduceWgsl,
  sequenceLogprobs,
  sequenceLogprobsBackward,
} from "./kernels/seqreduce.js";
export {
  type DpoRef,
  type DpoRefOptions,
  type DpoStepRef,
  type DpoStepRefOptions,
  dpoLossRef,
  dpoPairRef,
  dpoStepRef,
} from "./reference/dpo.js";
export { tokenLogprobsBackwardRef, tokenLogprobsRef } from "./reference/logprob.js";
export {
  maskedSequenceSumsRef,
  rowRanges,
  type SeqRef,
  sequenceLogprobsBackwardRef,
  sequenceLogprobsRef,
} from "./reference/seqreduce.js";

// --- model ops (matmul, embedding, RMSNorm, RoPE, attention, SwiGLU, elementwise, AdamW)

export {
  ADAMW_DEFAULTS,
  type AdamWOptions,
  adamwStep,
  adamwWgsl,
  clipCoefficient,
  gradNorm,
} from "./kernels/adamw.js";
export {
  type AttentionOptions,
  type AttentionResult,
  attention,
  attentionBackward,
  attentionBackwardKVWgsl,
  attentionBackwardQWgsl,
  attentionForwardWgsl,
  kvCacheWrite,
  kvCacheWriteWgsl,
} from "./kernels/attention.js";
export {
  add,
  addInPlace,
  copy,
  copyInto,
  elementwiseWgsl,
  fill,
  reshape,
  scale,
  scaleInPlace,
  TensorView,
} from "./kernels/elementwise.js";
export {
  embedding,
  embeddingBackward,
  embeddingBackwardWgsl,
  embeddingWgsl,
  groupIds,
  validateIds,
  validateIdsWgsl,
} from "./kernels/embedding.js";
export {
  type BlockedConfig,
  blockedApplies,
  DEFAULT_BLOCKED,
  DEFAULT_TILED,
  type MatmulKernelFlags,
  type MatmulOptions,
  type MatmulVariant,
  matmul,
  matmulBlockedWgsl,
  matmulNaiveWgsl,
  matmulTiledWgsl,
  matmulVariantFor,
  type TiledConfig,
} from "./kernels/matmul.js";
export {
  type RmsnormBackwardOptions,
  type RmsnormResult,
  rmsnorm,
  rmsnormBackward,
  rmsnormBackwardWgsl,
  rmsnormWgsl,
} from "./kernels/rmsnorm.js";
export {
  type RopeTable,
  rope,
  ropeBackward,
  ropeTable,
  ropeWgsl,
} from "./kernels/rope.js";
export {
  swiglu,
  swigluBackward,
  swigluBackwardWgsl,
  swigluWgsl,
} from "./kernels/swiglu.js";
export {
  type AdamWRefOptions,
  adamwRef,
  clipCoefficientRef,
  gradNormRef,
} from "./reference/adamw.js";
export {
  type AttentionDims,
  attentionBackwardRef,
  attentionProbsRef,
  attentionRef,
  NO_KEY_LSE,
} from "./reference/attention.js";
export { addRef, axpyRef, scaleRef } from "./reference/elementwise.js";
export { embeddingBackwardRef, embeddingRef } from "./reference/embedding.js";
export { type MatmulRefOptions, matmulRef } from "./reference/matmul.js";
export { rmsnormBackwardRef, rmsnormRef } from "./reference/rmsnorm.js";
export {
  positionsFromMask,
  ropeAngle,
  ropeInvFreq,
  ropeRef,
} from "./reference/rope.js";
export { swigluBackwardRef, swigluRef } from "./reference/swiglu.js";
