import { describeValue, type ErrorCode, SageError } from "@sage/core";

/** Error codes raised by `@sage/curriculum` (a part of `@sage/core`'s one vocabulary). */
export type CurriculumErrorCode = Extract<
  ErrorCode,
  | "CONFIG_INVALID"
  | "DATA_INVALID"
  | "DATA_EMPTY"
  | "VALUE_NON_FINITE"
  | "SHAPE_MISMATCH"
  | "PROTOCOL_VIOLATED"
  | "STATE_INVALID"
  | "STATS_MISSING"
  | "JSONL_INVALID"
>;

/**
 * The one error type of `@sage/curriculum`. `code` is stable and machine-readable; the message
 * says what was expected and what was received.
 */
export class CurriculumError extends SageError {
  override readonly name = "CurriculumError";
  declare readonly code: CurriculumErrorCode;

  constructor(code: CurriculumErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }

  static mismatch(
    code: CurriculumErrorCode,
    what: string,
    expected: string,
    received: unknown,
  ): CurriculumError {
    return new CurriculumError(code, `${what}: expected ${expected}, received ${describeValue(received)}`);
  }
}
