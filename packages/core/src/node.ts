/** `@sage/core/node`: the node-only part of the core (files). */
import { closeSync, fsyncSync, mkdirSync, openSync } from "node:fs";
import { mkdir, open, readFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import writeFileAtomicLib from "write-file-atomic";
import { SageError } from "./errors.js";
import { JsonlError, type ParseJsonlOptions, parseJsonl } from "./jsonl.js";

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

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Read and parse a JSONL file (see `parseJsonl`; `source` defaults to the file's name). A path that
 * does not exist or is not a readable file throws `DATA_MISSING`; text that is not UTF-8 throws a
 * `JsonlError` naming the first bad line.
 */
export async function readJsonlFile<T = unknown>(
  path: string,
  options: ParseJsonlOptions<T> = {},
): Promise<T[]> {
  const source = options.source ?? basename(path);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === undefined ? undefined : INPUT_ERRNO[code];
    if (why === undefined) throw error;
    throw new SageError(
      "DATA_MISSING",
      `cannot read ${path}: expected a readable file, received ${code} (${why})`,
      {
        cause: error,
      },
    );
  }
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch (error) {
    let start = 0;
    for (let nl = bytes.indexOf(0x0a); nl !== -1; nl = bytes.indexOf(0x0a, start)) {
      try {
        strictUtf8.decode(bytes.subarray(start, nl));
      } catch {
        break;
      }
      start = nl + 1;
    }
    const line = bytes.subarray(0, start).filter((b) => b === 0x0a).length + 1;
    throw new JsonlError(source, line, "UTF-8 text", "bytes that are not valid UTF-8", { cause: error });
  }
  return parseJsonl(text, { ...options, source });
}
