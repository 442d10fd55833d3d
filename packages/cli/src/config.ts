import { readFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { describeZodError } from "@sage/trainer";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { CliError } from "./errors.js";

/** Errno codes that mean the user named the wrong path (exit 2), not a failing disk. */
const INPUT_ERRNO = new Set(["ENOENT", "ENOTDIR", "EISDIR", "EACCES", "EPERM"]);

/**
 * How a config file is parsed: by its extension (`.json`; `.yaml`, `.yml`), or, without one of
 * those (`--config <(…)` gives `/dev/fd/63`), by its content: JSON when it starts with `{`,
 * YAML otherwise.
 */
export function configFormat(path: string, text: string): "JSON" | "YAML" {
  const ext = extname(path).toLowerCase();
  if (ext === ".json") return "JSON";
  if (ext === ".yaml" || ext === ".yml") return "YAML";
  return text
    .trimStart()
    .replace(/^\uFEFF/, "")
    .startsWith("{")
    ? "JSON"
    : "YAML";
}

/**
 * Read a JSON or YAML config file (see {@link configFormat}) and validate it with `schema`.
 * Errors name the file and the field: `sage.yaml: field "curriculum.stability.k": …; received 0`.
 * YAML is parsed as data only (no custom tags, nothing is evaluated).
 */
export async function loadConfigFile<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> {
  // `--config <(…)` names /dev/fd/63: "63" alone would say nothing
  const name = /^\/(dev|proc\/self)\/fd\//.test(path) ? path : basename(path);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(
      code !== undefined && INPUT_ERRNO.has(code) ? "CONFIG_INVALID" : "IO_FAILED",
      `cannot read config file ${path}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new CliError(
      "CONFIG_INVALID",
      `${name}: expected UTF-8 text; received bytes that are not valid UTF-8`,
    );
  }
  const format = configFormat(path, text);
  let raw: unknown;
  try {
    raw = format === "JSON" ? JSON.parse(text) : parseYaml(text, { customTags: [], merge: false });
  } catch (error) {
    throw new CliError("CONFIG_INVALID", `${name}: not valid ${format}: ${(error as Error).message}`);
  }
  if (raw !== null && raw !== undefined && (typeof raw !== "object" || Array.isArray(raw))) {
    throw new CliError(
      "CONFIG_INVALID",
      `${name}: expected a JSON object or YAML mapping of settings; received ${Array.isArray(raw) ? "a list" : JSON.stringify(raw).slice(0, 80)} (read as ${format})`,
    );
  }
  return validateConfig(raw ?? {}, schema, name);
}

/** Validate an already-parsed config object; errors name `source` and the field. */
export function validateConfig<S extends z.ZodType>(raw: unknown, schema: S, source: string): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new CliError("CONFIG_INVALID", `${source}: ${describeZodError(parsed.error, raw).text}`);
  }
  return parsed.data;
}
