import { describeValue, type ErrorCode, SageError } from "@sage/core";

export { describeValue };

/** Error codes raised by `@sage/stability` (a part of `@sage/core`'s one vocabulary). */
export type StabilityErrorCode = Extract<
  ErrorCode,
  "VALUE_NON_FINITE" | "SHAPE_MISMATCH" | "CONFIG_INVALID" | "ARGUMENT_INVALID" | "STATE_INVALID"
>;

/**
 * The one error type of `@sage/stability`. `code` is stable and machine-readable; the message
 * says what was expected and what was received.
 */
export class StabilityError extends SageError {
  override readonly name = "StabilityError";
  declare readonly code: StabilityErrorCode;

  constructor(code: StabilityErrorCode, message: string) {
    super(code, message);
  }

  /** `what: expected …, received …` */
  static mismatch(
    code: StabilityErrorCode,
    what: string,
    expected: string,
    received: unknown,
  ): StabilityError {
    return new StabilityError(code, `${what}: expected ${expected}, received ${describeValue(received)}`);
  }
}
