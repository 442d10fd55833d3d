import { type ErrorCode, SageError } from "@sage/core";

export { describeValue } from "@sage/core";

/** Codes of every error the trainer throws (a part of `@sage/core`'s one vocabulary). */
export type TrainerErrorCode = Extract<
  ErrorCode,
  | "DATA_INVALID"
  | "DATA_ID_DUPLICATE"
  | "DATA_EMPTY"
  | "DATA_REF_PARTIAL"
  | "TEMPLATE_INVALID"
  | "CHECKPOINT_INVALID"
  | "CHECKPOINT_HASH_MISMATCH"
  | "CHECKPOINT_MISSING"
  | "REF_CACHE_INVALID"
  | "REF_CACHE_MISSING"
  | "CONFIG_INVALID"
  | "SELECTION_INVALID"
  | "POLICY_INVALID"
  | "RNG_STATE_INVALID"
>;

/** The one error class of `@sage/trainer`. `code` is stable; the message says what was expected and what was received. */
export class TrainerError extends SageError {
  declare readonly code: TrainerErrorCode;
  constructor(code: TrainerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "TrainerError";
  }
}
