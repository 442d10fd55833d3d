import { createReadStream } from "node:fs";
import { basename } from "node:path";
import { JsonlError, parseJsonlLine } from "@sage/core";
import type { z } from "zod";
import { describeValue, TrainerError } from "./errors.js";
import { describeZodError } from "./zod-issue.js";

/** Errno codes of a path the user got wrong (an input error), not of a failing disk. */
const INPUT_ERRNO: Readonly<Record<string, string>> = {
  ENOENT: "no such file",
  ENOTDIR: "a parent of it is not a folder",
  EISDIR: "a folder, not a file",
  EACCES: "permission denied",
  EPERM: "permission denied",
};

/**
 * Where the first invalid UTF-8 sequence of `bytes` starts (0-based), by feeding a fatal decoder
 * one byte at a time; only called once decoding the whole line has failed.
 */
function firstInvalidByte(bytes: Uint8Array): number {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    try {
      // an empty result means the byte began or continued a multi-byte sequence
      if (decoder.decode(bytes.subarray(i, i + 1), { stream: true }) !== "") start = i + 1;
    } catch {
      return start;
    }
  }
  return start; // a sequence cut short by the end of the line
}

/** One strict decoder, reused: a call without `stream` starts afresh. */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decode one line as strict UTF-8; a bad byte throws `DATA_INVALID` naming file, line and byte. */
function decodeLine(bytes: Uint8Array, file: string, line: number): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    const at = firstInvalidByte(bytes);
    const byte = bytes[at];
    throw new TrainerError(
      "DATA_INVALID",
      `${file}:${line}: expected UTF-8 text; received the byte 0x${(byte ?? 0).toString(16).toUpperCase().padStart(2, "0")} at byte ${at + 1} of the line, which is not valid UTF-8 (re-encode the file as UTF-8, e.g. \`iconv -f latin1 -t utf-8\`)`,
    );
  }
}

/**
 * The lines of a text file with their 1-based numbers, decoded as strict UTF-8 (a byte that is
 * not valid UTF-8 throws `DATA_INVALID` naming file and line, instead of turning into U+FFFD).
 * A leading BOM and `\r\n` line ends are accepted. A path that does not exist, is a folder or
 * cannot be read throws `DATA_INVALID` naming the path; other read errors are rethrown.
 */
export async function* readTextLines(
  path: string,
): AsyncGenerator<{ readonly line: number; readonly text: string }> {
  const file = basename(path);
  let n = 0;
  let carry: Buffer[] = [];
  const emit = (parts: Buffer[]): string => {
    n++;
    let bytes: Uint8Array = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    if (n === 1 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    if (bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    return decodeLine(bytes, file, n);
  };
  try {
    for await (const chunk of createReadStream(path)) {
      let buf = chunk as Buffer;
      // 0x0A never occurs inside a multi-byte UTF-8 sequence, so splitting bytes on it is safe
      for (let i = buf.indexOf(0x0a); i !== -1; i = buf.indexOf(0x0a)) {
        carry.push(buf.subarray(0, i));
        const text = emit(carry);
        carry = [];
        yield { line: n, text };
        buf = buf.subarray(i + 1);
      }
      if (buf.length > 0) carry.push(buf);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === undefined ? undefined : INPUT_ERRNO[code];
    if (why === undefined) throw error;
    throw new TrainerError(
      "DATA_INVALID",
      `cannot read ${path}: expected a readable file; received ${code} (${why})`,
      { cause: error },
    );
  }
  if (carry.length > 0) {
    const text = emit(carry);
    yield { line: n, text };
  }
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
