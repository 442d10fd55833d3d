export type PlaygroundErrorCode = "SETTINGS_INVALID" | "NO_WEBGPU" | "FETCH_FAILED" | "RUN_INVALID";

/** The playground's one error class: `code` is stable; the message says what was expected and what was received. */
export class PlaygroundError extends Error {
  readonly code: PlaygroundErrorCode;
  /** `received` (when given, even `undefined`) is shown after the expectation, truncated. */
  constructor(code: PlaygroundErrorCode, expected: string, ...received: [unknown?]) {
    super(received.length > 0 ? `${expected}; received ${show(received[0])}` : expected);
    this.name = "PlaygroundError";
    this.code = code;
  }
}

function show(v: unknown): string {
  let s: string;
  try {
    s = typeof v === "string" ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
