import { createReadStream } from "node:fs";
import { basename } from "node:path";
import { createInterface } from "node:readline";
import type { z } from "zod";
import { TrainerError } from "./errors.js";
import { describeZodError } from "./zod-issue.js";

/**
 * The non-blank lines of a JSONL file, each parsed and validated by `schema`, with their 1-based
 * line numbers. A line that is not JSON or does not fit throws `DATA_INVALID` naming file, line
 * and field.
 */
export async function* readJsonlLines<S extends z.ZodType>(
  path: string,
  schema: S,
): AsyncGenerator<{ readonly line: number; readonly value: z.output<S> }> {
  const file = basename(path);
  let n = 0;
  for await (const text of createInterface({
    input: createReadStream(path, { encoding: "utf8" }),
    crlfDelay: Infinity,
  })) {
    n++;
    if (text.trim() === "") continue;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new TrainerError(
        "DATA_INVALID",
        `${file}:${n}: field "(line)": expected one JSON object; ${(error as Error).message}`,
      );
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success)
      throw new TrainerError("DATA_INVALID", `${file}:${n}: ${describeZodError(parsed.error, raw).text}`);
    yield { line: n, value: parsed.data };
  }
}
