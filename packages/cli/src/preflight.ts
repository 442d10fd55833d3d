import { constants, type Stats } from "node:fs";
import { access, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { CliError } from "./errors.js";

/**
 * Checks of the paths a command was given, run before any work starts (before a model is loaded
 * or the GPU opens): inputs exist and are of the right kind, outputs can be written. Each failure
 * is a `USAGE_INVALID` error (exit 2) naming the flag, what was expected and what was received.
 */

/**
 * How a path option is used: read (a file; `in-data`: a file of records, which must not be
 * empty; a folder), or written (a file or a folder).
 */
export type PathRole = "in-file" | "in-data" | "in-dir" | "out-file" | "out-dir";

/** `stat`, or undefined where nothing is there; `through-file` where a parent is a file. */
async function statOrUndefined(path: string): Promise<Stats | undefined | "through-file"> {
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "ENOTDIR") return "through-file";
    throw new CliError("USAGE_INVALID", `${path}: cannot be inspected (${code ?? (error as Error).message})`);
  }
}

function fail(flag: string, path: string, expected: string, received: string): never {
  throw new CliError("USAGE_INVALID", `${flag} ${path}: expected ${expected}; received ${received}`);
}

/** The nearest folder of `path` (or `path` itself) that exists; it must be a folder we can write to. */
async function checkWritableParent(flag: string, path: string): Promise<void> {
  let dir = dirname(resolve(path));
  for (;;) {
    const s = await statOrUndefined(dir);
    if (s !== undefined && s !== "through-file") {
      if (!s.isDirectory()) {
        fail(flag, path, "a path whose parent is a folder", `${dir}, which is a file, as a parent`);
      }
      try {
        await access(dir, constants.W_OK);
      } catch {
        fail(flag, path, "a place this user can write to", `a parent folder ${dir} that is not writable`);
      }
      return;
    }
    const up = dirname(dir);
    if (up === dir) return;
    dir = up;
  }
}

/** Check one path for its role; see {@link PathRole}. */
export async function checkPath(flag: string, path: string, role: PathRole): Promise<void> {
  if (path.trim() === "") fail(flag, path, "a path", "an empty string");
  const found = await statOrUndefined(path);
  if (found === "through-file") {
    fail(flag, path, "a path whose parents are folders", "a path that goes through a file");
  }
  const s = found;
  switch (role) {
    case "in-file":
    case "in-data":
      if (s === undefined) fail(flag, path, "an existing file", "a path that does not exist");
      if (s.isDirectory()) fail(flag, path, "a file", "a folder");
      try {
        await access(path, constants.R_OK);
      } catch {
        fail(flag, path, "a readable file", "a file this user cannot read");
      }
      // (a pipe, as from `<(…)`, has no size to check)
      if (role === "in-data" && s.isFile() && s.size === 0) {
        fail(flag, path, "a JSONL file with at least one record", "an empty file");
      }
      return;
    case "in-dir":
      if (s === undefined) fail(flag, path, "an existing folder", "a path that does not exist");
      if (!s.isDirectory()) fail(flag, path, "a folder", "a file");
      return;
    case "out-file":
      if (s?.isDirectory()) {
        fail(flag, path, "a file path to write", "a folder (give a file name inside it)");
      }
      await checkWritableParent(flag, path);
      return;
    case "out-dir":
      if (s !== undefined && !s.isDirectory()) fail(flag, path, "a folder to write into", "a file");
      if (s !== undefined) {
        try {
          await access(path, constants.W_OK);
        } catch {
          fail(flag, path, "a folder this user can write to", "a folder that is not writable");
        }
        return;
      }
      await checkWritableParent(flag, path);
      return;
  }
}

/** Path options of each command: option key (commander's camelCase) → flag and role. */
export const PATH_OPTIONS: Readonly<Record<string, Readonly<Record<string, readonly [string, PathRole]>>>> = {
  select: {
    pairs: ["--pairs", "in-data"],
    stats: ["--stats", "in-data"],
    scores: ["--scores", "in-file"],
    config: ["--config", "in-file"],
    out: ["--out", "out-file"],
    rows: ["--rows", "out-file"],
    state: ["--state", "out-file"],
    events: ["--events", "out-file"],
  },
  eval: {
    responses: ["--responses", "in-data"],
    config: ["--config", "in-file"],
    out: ["--out", "out-file"],
  },
  train: {
    pairs: ["--pairs", "in-data"],
    model: ["--model", "in-dir"],
    config: ["--config", "in-file"],
    evalProblems: ["--eval-problems", "in-data"],
    runDir: ["--run-dir", "out-dir"],
    refCache: ["--ref-cache", "out-dir"],
    saveModel: ["--save-model", "out-dir"],
  },
  pairs: {
    problems: ["--problems", "in-data"],
    model: ["--model", "in-dir"],
    config: ["--config", "in-file"],
    out: ["--out", "out-file"],
  },
  sft: {
    data: ["--data", "in-data"],
    model: ["--model", "in-dir"],
    config: ["--config", "in-file"],
    runDir: ["--run-dir", "out-dir"],
    saveModel: ["--save-model", "out-dir"],
  },
  demo: { model: ["--model", "in-dir"], out: ["--out", "out-dir"] },
  bench: {
    model: ["--model", "in-dir"],
    out: ["--out", "out-dir"],
    reportFrom: ["--report-from", "in-file"],
  },
};

/** Check every path option `opts` of `command` holds, in the order of {@link PATH_OPTIONS}. */
export async function checkCommandPaths(
  command: string,
  opts: Readonly<Record<string, unknown>>,
): Promise<void> {
  const table = PATH_OPTIONS[command];
  if (!table) return;
  for (const [key, [flag, role]] of Object.entries(table)) {
    const value = opts[key];
    if (typeof value === "string") await checkPath(flag, value, role);
  }
}
