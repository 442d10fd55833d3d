/** Node-only: read a tokenizer from a model folder (the browser entry builds one with `tokenizerFromJSON`). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ModelError } from "./errors.js";
import { type Tokenizer, tokenizerFromJSON } from "./tokenizer.js";

/** Load `tokenizer.json` (and `tokenizer_config.json` when present) from a model folder. */
export function loadTokenizer(dir: string): Tokenizer {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8"));
  } catch (e) {
    throw new ModelError("TOKENIZER_INVALID", `${join(dir, "tokenizer.json")}: ${(e as Error).message}`);
  }
  let cfg: Record<string, unknown> = {};
  try {
    cfg = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")) as Record<string, unknown>;
  } catch {
    // optional file
  }
  return tokenizerFromJSON(json, cfg);
}
