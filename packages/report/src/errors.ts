/** Error codes raised by `@sage/report`. */
export type ReportErrorCode = "INVALID_INPUT" | "INVALID_OPTION" | "RENDER_FAILED" | "WRITE_FAILED";

/** Truncate a value for an error message. */
export function describeValue(value: unknown, max = 80): string {
  let s: string;
  if (typeof value === "number") s = Number.isNaN(value) ? "NaN" : String(value);
  else if (typeof value === "string") s = JSON.stringify(value);
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
 * The one error type of `@sage/report`. `code` is stable and machine-readable; the message says
 * what was expected and what was received.
 */
export class ReportError extends Error {
  override readonly name = "ReportError";
  readonly code: ReportErrorCode;

  constructor(code: ReportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** `what: expected …, received …` */
  static mismatch(code: ReportErrorCode, what: string, expected: string, received: unknown): ReportError {
    return new ReportError(code, `${what}: expected ${expected}, received ${describeValue(received)}`);
  }
}
