import { basename } from "node:path";
import { JsonlError, parseJsonlLine } from "@sage/core";
import { readTextLines as coreReadTextLines } from "@sage/core/node";
import type { z } from "zod";
import { describeValue, TrainerError } from "./errors.js";
import { describeZodError } from "./zod-issue.js";

/**
 * The lines of a text file with their 1-based numbers (`@sage/core/node`'s `readTextLines`: strict
 * UTF-8, BOM and `\r\n` accepted), its errors as `TrainerError`s with code `DATA_INVALID`.
 */
export function readTextLines(
  path: string,
): AsyncGenerator<{ readonly line: number; readonly text: string }> {
  return coreReadTextLines(path, (_code, message, { cause }) =>
    cause === undefined
      ? new TrainerError("DATA_INVALID", message)
      : new TrainerError("DATA_INVALID", message, { cause }),
  );
}

/**
 * The JSON value of one line (`@sage/core`'s `parseJsonlLine`); text that is not JSON throws
 * `DATA_INVALID` naming file, line and the parser's complaint.
 */
export function jsonOfLine(text: string, file: string, line: number): unknown {
  try {
    return parseJsonlLine(text, line, file);
  } catch (error) {
    if (!(error instanceof JsonlError)) throw error;
    throw new TrainerError(
      "DATA_INVALID",
      `${file}:${line}: field "(line)": expected one JSON object; ${(error.cause as Error).message}; received ${describeValue(text)}`,
      { cause: error },
    );
  }
}

/**
 * The non-blank lines of a JSONL file, each parsed and validated by `schema`, with their 1-based
 * line numbers. A line that is not UTF-8, not JSON or does not fit throws `DATA_INVALID` naming
 * file, line and field (the file's own field names).
 */
export async function* readJsonlLines<S extends z.ZodType>(
  path: string,
  schema: S,
): AsyncGenerator<{ readonly line: number; readonly value: z.output<S> }> {
  const file = basename(path);
  for await (const { line: n, text } of readTextLines(path)) {
    if (text.trim() === "") continue;
    const raw = jsonOfLine(text, file, n);
    const parsed = schema.safeParse(raw);
    if (!parsed.success)
      throw new TrainerError("DATA_INVALID", `${file}:${n}: ${describeZodError(parsed.error, raw).text}`);
    yield { line: n, value: parsed.data };
  }
}
