import { describeValue } from "@sage/stability";

/** Error codes raised by `@sage/curriculum`. */
export type CurriculumErrorCode =
  | "INVALID_CONFIG"
  | "INVALID_DATASET"
  | "EMPTY_DATASET"
  | "NON_FINITE"
  | "SHAPE_MISMATCH"
  | "PROTOCOL"
  | "INVALID_STATE"
  | "MISSING_STATS"
  | "JSONL";

/**
 * The one error type of `@sage/curriculum`. `code` is stable and machine-readable; the message
 * says what was expected and what was received.
 */
export class CurriculumError extends Error {
  override readonly name = "CurriculumError";
  readonly code: CurriculumErrorCode;

  constructor(code: CurriculumErrorCode, message: string) {
    super(message);
    this.code = code;
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
