/** Error codes raised by `@sage/stability`. */
export type StabilityErrorCode =
  | "NON_FINITE"
  | "SHAPE_MISMATCH"
  | "INVALID_CONFIG"
  | "INVALID_ARGUMENT"
  | "INVALID_STATE";

/** Truncate a value for an error message. */
export function describeValue(value: unknown, max = 80): string {
  let s: string;
  if (typeof value === "number") s = Number.isNaN(value) ? "NaN" : String(value);
  else if (typeof value === "string") s = JSON.stringify(value);
  else if (ArrayBuffer.isView(value)) {
    s = `${value.constructor.name}(${(value as unknown as ArrayLike<number>).length})`;
  } else {
    try {
      s = JSON.stringify(value) ?? String(value);
    } catch {
      s = String(value);
    }
  }
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/**
 * The one error type of `@sage/stability`. `code` is stable and machine-readable; the message
 * says what was expected and what was received.
 */
export class StabilityError extends Error {
  override readonly name = "StabilityError";
  readonly code: StabilityErrorCode;

  constructor(code: StabilityErrorCode, message: string) {
    super(message);
    this.code = code;
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
