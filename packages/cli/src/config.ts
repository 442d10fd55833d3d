import { readFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { describeZodError } from "@sage/trainer";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { CliError } from "./errors.js";

/**
 * Read a JSON (`.json`) or YAML (`.yaml`, `.yml`) config file and validate it with `schema`.
 * Errors name the file and the field: `sage.yaml: field "curriculum.stability.k": …; received 0`.
 * YAML is parsed as data only (no custom tags, nothing is evaluated).
 */
export async function loadConfigFile<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> {
  const name = basename(path);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new CliError("IO", `cannot read config file ${path}: ${(error as Error).message}`);
  }
  const ext = extname(path).toLowerCase();
  let raw: unknown;
  try {
    if (ext === ".json") raw = JSON.parse(text);
    else if (ext === ".yaml" || ext === ".yml") raw = parseYaml(text, { customTags: [], merge: false });
    else {
      throw new CliError(
        "CONFIG_INVALID",
        `${name}: expected a .json, .yaml or .yml config file; received extension ${JSON.stringify(ext)}`,
      );
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      "CONFIG_INVALID",
      `${name}: not valid ${ext === ".json" ? "JSON" : "YAML"}: ${(error as Error).message}`,
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
