/** Error codes raised by the runtime and the kernels. */
export type KernelErrorCode =
  | "NO_WEBGPU"
  | "NO_ADAPTER"
  | "SHAPE_MISMATCH"
  | "DTYPE_MISMATCH"
  | "OUT_OF_RANGE"
  | "NON_FINITE"
  | "EMPTY"
  | "LIMIT_EXCEEDED"
  | "SHADER_COMPILE"
  | "GPU_VALIDATION"
  | "DEVICE_LOST"
  | "DISPOSED"
  | "LEAK"
  | "INVALID_ARGUMENT";

/** Truncate a value for an error message. */
export function describe(value: unknown, max = 120): string {
  let s: string;
  if (typeof value === "string") s = JSON.stringify(value);
  else if (ArrayBuffer.isView(value)) s = `${value.constructor.name}(${(value as Float32Array).length})`;
  else {
    try {
      s = JSON.stringify(value) ?? String(value);
    } catch {
      s = String(value);
    }
  }
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/**
 * The one error type of `@sage/kernels-webgpu`. `code` is stable and machine-readable;
 * the message says what failed, what was expected and what was received.
 */
export class KernelError extends Error {
  override readonly name = "KernelError";
  readonly code: KernelErrorCode;
  readonly kernel: string | undefined;

  constructor(code: KernelErrorCode, message: string, options: { kernel?: string; cause?: unknown } = {}) {
    super(options.kernel ? `[${options.kernel}] ${message}` : message, { cause: options.cause });
    this.code = code;
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
