/** Codes of the CLI's own errors. */
export type CliErrorCode = "USAGE" | "CONFIG_INVALID" | "INPUT_INVALID" | "IO";

/** An error the CLI reports as one line; `exitCode` 2 for usage/config/input errors, 1 otherwise. */
export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly exitCode: number;
  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CliError";
    this.code = code;
    this.exitCode = code === "IO" ? 1 : 2;
  }
}
