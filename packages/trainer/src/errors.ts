/** Codes of every error the trainer throws; each names one failure a caller may handle. */
export type TrainerErrorCode =
  | "DATA_INVALID"
  | "DATA_DUPLICATE_ID"
  | "DATA_EMPTY"
  | "DATA_REF_PARTIAL"
  | "TEMPLATE_INVALID"
  | "CHECKPOINT_INVALID"
  | "CHECKPOINT_HASH_MISMATCH"
  | "CHECKPOINT_NOT_FOUND"
  | "REF_CACHE_INVALID"
  | "REF_CACHE_MISSING"
  | "CONFIG_INVALID"
  | "SELECTION_INVALID"
  | "POLICY_INVALID"
  | "RNG_STATE_INVALID";

/** The one error class of `@sage/trainer`. `code` is stable; the message says what was expected and what was received. */
export class TrainerError extends Error {
  readonly code: TrainerErrorCode;
  constructor(code: TrainerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TrainerError";
    this.code = code;
  }
}

/** Render a received value for an error message, truncated to `max` characters. */
export function describeValue(value: unknown, max = 80): string {
  let text: string;
  if (typeof value === "string") text = JSON.stringify(value);
  else if (value === undefined) text = "undefined";
  else if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean")
    text = String(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = Object.prototype.toString.call(value);
    }
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
