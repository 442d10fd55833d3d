/** `@sage/core/node`: the node-only part of the core (files). */
import { closeSync, createReadStream, fsyncSync, mkdirSync, openSync } from "node:fs";
import { mkdir, open } from "node:fs/promises";
import { basename, dirname } from "node:path";
import writeFileAtomicLib from "write-file-atomic";
import { SageError } from "./errors.js";
import { type ParseJsonlOptions, parseJsonlLine } from "./jsonl.js";

/** Errno codes with which a folder cannot be fsynced on some platforms (the rename is still atomic). */
const DIR_FSYNC_REFUSED = new Set(["EISDIR", "EPERM", "EINVAL", "EACCES"]);

function refused(error: unknown): boolean {
  return DIR_FSYNC_REFUSED.has((error as NodeJS.ErrnoException).code ?? "");
}

function asBuffer(data: string | Uint8Array): string | Buffer {
  if (typeof data === "string" || Buffer.isBuffer(data)) return data;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** fsync a folder so that a rename inside it is durable (no-op where the platform refuses). */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch (error) {
    if (!refused(error)) throw error;
  } finally {
    await handle?.close();
  }
}

/** Synchronous {@link fsyncDir}. */
export function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch (error) {
    if (!refused(error)) throw error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Write `data` to `path` atomically and durably: the parent folder is created when missing, the
 * data goes to a temp file beside `path` that is fsynced and renamed over it (npm
 * `write-file-atomic`), then the folder is fsynced. A reader, or a crash, sees the old file or the
 * new one, never a part; a failed write leaves no temp file behind.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  await writeFileAtomicLib(path, asBuffer(data), { fsync: true });
  await fsyncDir(dir);
}

/** Synchronous {@link writeFileAtomic}. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  writeFileAtomicLib.sync(path, asBuffer(data), { fsync: true });
  fsyncDirSync(dir);
}

/** {@link writeFileAtomic} of `JSON.stringify(value, null, 2)` plus a final newline. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

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

/** How {@link readTextLines} reports an unreadable path or a line that is not UTF-8. */
export type TextLinesError = (
  code: "DATA_MISSING" | "DATA_INVALID",
  message: string,
  options: { cause?: unknown; line?: number },
) => Error;

const sageTextLinesError: TextLinesError = (code, message, { cause }) =>
  new SageError(code, message, cause === undefined ? undefined : { cause });

/**
 * The lines of a text file with their 1-based numbers, streamed and decoded as strict UTF-8: a
 * byte that is not valid UTF-8 is a `DATA_INVALID` error naming file, line and byte (never a
 * silent U+FFFD); a leading BOM and `\r\n` line ends are accepted. A path that does not exist, is
 * a folder or cannot be read is a `DATA_MISSING` error naming the path; other read errors are
 * rethrown. `error` builds the errors (default `SageError`; a package passes its own class).
 */
export async function* readTextLines(
  path: string,
  error: TextLinesError = sageTextLinesError,
): AsyncGenerator<{ readonly line: number; readonly text: string }> {
  const file = basename(path);
  let n = 0;
  let carry: Buffer[] = [];
  const emit = (parts: Buffer[]): string => {
    n++;
    let bytes: Uint8Array = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    if (n === 1 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    if (bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    try {
      return strictUtf8.decode(bytes);
    } catch {
      const at = firstInvalidByte(bytes);
      const byte = bytes[at] ?? 0;
      throw error(
        "DATA_INVALID",
        `${file}:${n}: expected UTF-8 text; received the byte 0x${byte.toString(16).toUpperCase().padStart(2, "0")} at byte ${at + 1} of the line, which is not valid UTF-8 (re-encode the file as UTF-8, e.g. \`iconv -f latin1 -t utf-8\`)`,
        { line: n },
      );
    }
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
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === undefined ? undefined : INPUT_ERRNO[code];
    if (why === undefined) throw e;
    throw error("DATA_MISSING", `cannot read ${path}: expected a readable file; received ${code} (${why})`, {
      cause: e,
    });
  }
  if (carry.length > 0) {
    const text = emit(carry);
    yield { line: n, text };
  }
}

/**
 * Read and parse a JSONL file, streamed (see `parseJsonl`; `source` defaults to the file's name;
 * blank lines are skipped). A path that cannot be read throws `DATA_MISSING`, a line that is not
 * UTF-8 `DATA_INVALID` (see {@link readTextLines}), a line that is not JSON a `JsonlError`.
 */
export async function readJsonlFile<T = unknown>(
  path: string,
  options: ParseJsonlOptions<T> = {},
): Promise<T[]> {
  const source = options.source ?? basename(path);
  const out: T[] = [];
  for await (const { line, text } of readTextLines(path)) {
    if (text.trim() === "") continue;
    const value = parseJsonlLine(text, line, source);
    out.push(options.map ? options.map(value, line) : (value as T));
  }
  return out;
}
