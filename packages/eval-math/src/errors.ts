/** Error codes raised by `@sage/eval-math`. */
export type EvalMathErrorCode =
  | "INVALID_ARGUMENT"
  | "DATA_MISSING"
  | "DATA_FORMAT"
  | "UNKNOWN_BENCHMARK"
  | "GENERATOR_FAILED";

/** The one error class of this package; `code` says what kind of failure it is. */
export class EvalMathError extends Error {
  readonly code: EvalMathErrorCode;
  constructor(code: EvalMathErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EvalMathError";
    this.code = code;
  }
}

/** Shorten a value for an error message. */
export function truncate(value: unknown, max = 120): string {
  let s: string;
  try {
    s = typeof value === "string" ? JSON.stringify(value) : String(JSON.stringify(value) ?? value);
  } catch {
    s = String(value);
  }
  return s.length > max ? `${s.slice(0, max)}… (${s.length} chars)` : s;
}
