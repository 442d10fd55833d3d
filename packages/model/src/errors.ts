import { describeValue, type ErrorCode, SageError } from "@sage/core";

/** Error codes raised by `@sage/model` (a part of `@sage/core`'s one vocabulary). */
export type ModelErrorCode = Extract<
  ErrorCode,
  | "CONFIG_INVALID"
  | "CONFIG_UNSUPPORTED"
  | "SAFETENSORS_INVALID"
  | "SAFETENSORS_TRUNCATED"
  | "DTYPE_UNSUPPORTED"
  | "TENSOR_MISSING"
  | "TENSOR_SHAPE_MISMATCH"
  | "TENSOR_UNEXPECTED"
  | "TOKENIZER_INVALID"
  | "VOCAB_MISMATCH"
  | "SEQUENCE_TOO_LONG"
  | "INPUT_INVALID"
  | "CHECKPOINT_INVALID"
  | "DEVICE_LIMIT_EXCEEDED"
  | "STATE_INVALID"
>;

/** Typed error for everything that goes wrong in `@sage/model`; the message starts with `[code]`. */
export class ModelError extends SageError {
  declare readonly code: ModelErrorCode;
  constructor(code: ModelErrorCode, message: string) {
    super(code, `[${code}] ${message}`);
    this.name = "ModelError";
  }
}

/** Short printable form of a received value for error messages (truncated). */
export function show(value: unknown, max = 80): string {
  return describeValue(value, max);
}
