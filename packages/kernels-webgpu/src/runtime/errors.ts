import { describeValue, type ErrorCode, SageError } from "@sage/core";

/** Error codes raised by the runtime and the kernels (a part of `@sage/core`'s one vocabulary). */
export type KernelErrorCode = Extract<
  ErrorCode,
  | "WEBGPU_MISSING"
  | "ADAPTER_MISSING"
  | "SHAPE_MISMATCH"
  | "DTYPE_MISMATCH"
  | "VALUE_OUT_OF_RANGE"
  | "VALUE_NON_FINITE"
  | "TENSOR_EMPTY"
  | "DEVICE_LIMIT_EXCEEDED"
  | "SHADER_COMPILE_FAILED"
  | "GPU_VALIDATION_FAILED"
  | "DEVICE_LOST"
  | "RESOURCE_DISPOSED"
  | "RESOURCE_LEAKED"
  | "ARGUMENT_INVALID"
>;

/** Truncate a value for an error message. */
export function describe(value: unknown, max = 120): string {
  return describeValue(value, max);
}

/**
 * The one error type of `@sage/kernels-webgpu`. `code` is stable and machine-readable;
 * the message says what failed, what was expected and what was received.
 */
export class KernelError extends SageError {
  override readonly name = "KernelError";
  declare readonly code: KernelErrorCode;
  readonly kernel: string | undefined;

  constructor(code: KernelErrorCode, message: string, options: { kernel?: string; cause?: unknown } = {}) {
    super(code, options.kernel ? `[${options.kernel}] ${message}` : message, {
      cause: options.cause,
    });
    this.kernel = options.kernel;
  }

  /** `expected …, received …` helper. */
  static mismatch(
    code: KernelErrorCode,
    what: string,
    expected: string,
    received: unknown,
    kernel?: string,
  ): KernelError {
    return new KernelError(
      code,
      `${what}: expected ${expected}, received ${describe(received)}`,
      kernel ? { kernel } : {},
    );
  }
}
