export { type AdapterReport, formatAdapter, reportAdapter } from "./runtime/adapter.js";
export {
  type Binding,
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
export { BufferUsage, MapMode } from "./runtime/usage.js";

// --- loss kernels (token log-probs, sequence reductions, DPO losses)

// --- model ops (matmul, embedding, RMSNorm, RoPE, attention, SwiGLU, elementwise, AdamW)
