import { describeValue, type ErrorCode, SageError } from "@sage/core";

/** Codes of the playground's errors (a part of `@sage/core`'s one vocabulary). */
export type PlaygroundErrorCode = Extract<
  ErrorCode,
  "CONFIG_INVALID" | "WEBGPU_MISSING" | "FETCH_FAILED" | "RUN_INVALID"
>;

/** The playground's one error class: `code` is stable; the message says what was expected and what was received. */
export class PlaygroundError extends SageError {
  declare readonly code: PlaygroundErrorCode;
  /** `received` (when given, even `undefined`) is shown after the expectation, truncated. */
  constructor(code: PlaygroundErrorCode, expected: string, ...received: [unknown?]) {
    super(code, received.length > 0 ? `${expected}; received ${describeValue(received[0])}` : expected);
    this.name = "PlaygroundError";
  }
}
