import { type ErrorCode, isInputError, SageError } from "@sage/core";

/** Codes of the CLI's own errors (a part of `@sage/core`'s one vocabulary). */
export type CliErrorCode = Extract<
  ErrorCode,
  "USAGE_INVALID" | "CONFIG_INVALID" | "INPUT_INVALID" | "IO_FAILED"
>;

/** An error the CLI reports as one line; `exitCode` 2 for usage/config/input errors, 1 otherwise. */
export class CliError extends SageError {
  declare readonly code: CliErrorCode;
  readonly exitCode: number;
  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "CliError";
    this.exitCode = exitCodeFor(this);
  }
}

/** The exit status for an error that ends a command: 2 for an input error (`isInputError`), 1 otherwise. */
export function exitCodeFor(error: unknown): 1 | 2 {
  return isInputError(error) ? 2 : 1;
}
