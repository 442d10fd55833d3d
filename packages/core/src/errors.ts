// The one error vocabulary of the SAGE packages. Every code is `NOUN_STATE` (`CONFIG_INVALID`,
// `DATA_EMPTY`, `DEVICE_LOST`): the thing that is wrong, then how it is wrong. Two lists, so a code
// is an input error or an internal one by where it is written, once.

/** Codes of errors the user can fix: bad input, configuration, data, files or usage. */
const INPUT_CODES = [
  "ARGUMENT_INVALID",
  "BENCHMARK_UNKNOWN",
  "CHECKPOINT_HASH_MISMATCH",
  "CHECKPOINT_INVALID",
  "CHECKPOINT_MISSING",
  "CONFIG_INVALID",
  "CONFIG_UNSUPPORTED",
  "DATA_EMPTY",
  "DATA_ID_DUPLICATE",
  "DATA_INVALID",
  "DATA_MISSING",
  "DATA_REF_PARTIAL",
  "DTYPE_UNSUPPORTED",
  "INPUT_INVALID",
  "JSONL_INVALID",
  "LATEX_INVALID",
  "OPTION_INVALID",
  "REF_CACHE_INVALID",
  "REF_CACHE_MISSING",
  "REQUEST_INVALID",
  "RNG_STATE_INVALID",
  "RUN_INVALID",
  "SAFETENSORS_INVALID",
  "SAFETENSORS_TRUNCATED",
  "SEQUENCE_TOO_LONG",
  "STATS_MISSING",
  "TEMPLATE_INVALID",
  "TENSOR_MISSING",
  "TENSOR_SHAPE_MISMATCH",
  "TENSOR_UNEXPECTED",
  "TOKENIZER_INVALID",
  "USAGE_INVALID",
  "VOCAB_MISMATCH",
] as const;

/** Codes of internal errors: the environment, the GPU or a bug. */
const INTERNAL_CODES = [
  "ADAPTER_MISSING",
  "DEVICE_LIMIT_EXCEEDED",
  "DEVICE_LOST",
  "DTYPE_MISMATCH",
  "FETCH_FAILED",
  "GENERATOR_FAILED",
  "GPU_VALIDATION_FAILED",
  "INTERNAL_ERROR",
  "IO_FAILED",
  "POLICY_INVALID",
  "PROTOCOL_VIOLATED",
  "RENDER_FAILED",
  "RESOURCE_DISPOSED",
  "RESOURCE_LEAKED",
  "SELECTION_INVALID",
  "SHADER_COMPILE_FAILED",
  "SHAPE_MISMATCH",
  "STATE_INVALID",
  "TENSOR_EMPTY",
  "VALUE_NON_FINITE",
  "VALUE_OUT_OF_RANGE",
  "WEBGPU_MISSING",
] as const;

/** The one error vocabulary of the SAGE packages (input codes, then internal ones). */
export type ErrorCode = (typeof INPUT_CODES)[number] | (typeof INTERNAL_CODES)[number];

/**
 * Codes of errors the user can fix: bad input, configuration, data, files or usage. A command-line
 * tool exits with status 2 for these and 1 for every other error.
 */
export const INPUT_ERROR_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(INPUT_CODES);

/**
 * Base class of every error the SAGE packages throw. `code` is stable and machine-readable; the
 * message says what was expected and what was received. Subclasses set `name`.
 */
export class SageError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SageError";
    this.code = code;
  }
}

/** Whether `e` is a {@link SageError} whose code is in {@link INPUT_ERROR_CODES}. */
export function isInputError(e: unknown): boolean {
  return e instanceof SageError && INPUT_ERROR_CODES.has(e.code);
}

/**
 * A received value rendered for an error message, cut to `max` characters: strings quoted,
 * `NaN`/`undefined`/bigints as they read, typed arrays as `Float32Array(n)`, the rest as JSON.
 */
export function describeValue(value: unknown, max = 80): string {
  let s: string;
  if (typeof value === "string") s = JSON.stringify(value);
  else if (
    value === undefined ||
    typeof value === "number" ||
    typeof value === "bigint" ||
    typeof value === "boolean"
  )
    s = String(value);
  else if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    s = `${value.constructor.name}(${(value as unknown as ArrayLike<number>).length})`;
  } else {
    try {
      s = JSON.stringify(value) ?? String(value);
    } catch {
      s = Object.prototype.toString.call(value);
    }
  }
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** `what: expected …, received …` — the message shape every SAGE error uses. */
export function mismatchMessage(what: string, expected: string, received: unknown): string {
  return `${what}: expected ${expected}, received ${describeValue(received)}`;
}
