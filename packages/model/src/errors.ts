/** Error codes raised by `@sage/model`. */
export type ModelErrorCode =
  | "CONFIG_INVALID"
  | "CONFIG_UNSUPPORTED"
  | "SAFETENSORS_INVALID"
  | "SAFETENSORS_TRUNCATED"
  | "SAFETENSORS_UNSUPPORTED_DTYPE"
  | "TENSOR_MISSING"
  | "TENSOR_SHAPE"
  | "TENSOR_UNEXPECTED"
  | "TOKENIZER_INVALID"
  | "VOCAB_MISMATCH"
  | "SEQUENCE_TOO_LONG"
  | "INPUT_INVALID"
  | "CHECKPOINT_INVALID"
  | "DEVICE_LIMIT"
  | "STATE";

/** Typed error for everything that goes wrong in `@sage/model`. */
export class ModelError extends Error {
  readonly code: ModelErrorCode;
  constructor(code: ModelErrorCode, message: string) {
    super(`[${code}] ${message}`);
    this.name = "ModelError";
    this.code = code;
  }
}

/** Short printable form of a received value for error messages (truncated). */
export function show(value: unknown, max = 80): string {
  let s: string;
  try {
    s = typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    s = String(value);
  }
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
