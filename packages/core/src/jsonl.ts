import { describeValue, SageError } from "./errors.js";

/** A JSONL line that could not be read: names the source, the 1-based line, what was expected and what was received. */
export class JsonlError extends SageError {
  /** File name or other label of the text. */
  readonly source: string;
  /** 1-based line number. */
  readonly line: number;
  readonly expected: string;
  readonly received: string;

  constructor(
    source: string,
    line: number,
    expected: string,
    received: string,
    options?: { cause?: unknown },
  ) {
    super("JSONL_INVALID", `${source}:${line}: expected ${expected}, received ${received}`, options);
    this.name = "JsonlError";
    this.source = source;
    this.line = line;
    this.expected = expected;
    this.received = received;
  }
}

/** Options of {@link parseJsonl}. */
export interface ParseJsonlOptions<T> {
  /** Label used in error messages (a file name); default `"input"`. */
  readonly source?: string;
  /**
   * Check and convert one parsed line; `line` is 1-based. Return the value to keep, or throw: a
   * {@link JsonlError} (see {@link JsonlError} and `source`), or any error of the caller's own.
   */
  readonly map?: (value: unknown, line: number) => T;
}

/**
 * The JSON value of one line of a JSONL text, or a {@link JsonlError} naming `source` and `line`
 * with the parser's complaint and the start of the line.
 */
export function parseJsonlLine(text: string, line: number, source = "input"): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new JsonlError(
      source,
      line,
      "one JSON value per line",
      `${describeValue(text)} (${(error as Error).message})`,
      { cause: error },
    );
  }
}

/**
 * The non-blank lines of a JSONL text with their 1-based numbers. A leading BOM and `\r\n` line
 * ends are accepted; whitespace-only lines count as blank.
 */
export function* jsonlLines(text: string): Generator<{ readonly line: number; readonly text: string }> {
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const t = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (t.trim() !== "") yield { line: i + 1, text: t };
  }
}

/**
 * Parse a JSONL text: one JSON value per line, blank lines skipped. Each value goes through
 * `options.map` when given. A line that is not JSON throws a {@link JsonlError} (code
 * `JSONL_INVALID`) naming the source, its 1-based line, what was expected and what was received.
 */
export function parseJsonl<T = unknown>(text: string, options: ParseJsonlOptions<T> = {}): T[] {
  const source = options.source ?? "input";
  const map = options.map;
  const out: T[] = [];
  for (const { line, text: t } of jsonlLines(text)) {
    const value = parseJsonlLine(t, line, source);
    out.push(map ? map(value, line) : (value as T));
  }
  return out;
}

/** `value` as a plain JSON object, or a {@link JsonlError} saying a JSON object was expected. */
export function expectJsonObject(value: unknown, line: number, source = "input"): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new JsonlError(source, line, "a JSON object", describeValue(value));
  }
  return value as Record<string, unknown>;
}
