import { describeValue, type ErrorCode, SageError } from "@sage/core";

export { describeValue };

/** Error codes raised by `@sage/report` (a part of `@sage/core`'s one vocabulary). */
export type ReportErrorCode = Extract<
  ErrorCode,
  "INPUT_INVALID" | "OPTION_INVALID" | "RENDER_FAILED" | "IO_FAILED"
>;

/**
 * The one error type of `@sage/report`. `code` is stable and machine-readable; the message says
 * what was expected and what was received.
 */
export class ReportError extends SageError {
  override readonly name = "ReportError";
  declare readonly code: ReportErrorCode;

  constructor(code: ReportErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }

  /** `what: expected …, received …` */
  static mismatch(code: ReportErrorCode, what: string, expected: string, received: unknown): ReportError {
    return new ReportError(code, `${what}: expected ${expected}, received ${describeValue(received)}`);
  }
}
