import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initWeights, saveModelDir } from "@sage/model";
import { tinyCharModel } from "@sage/model/testing";
import { runCli } from "../src/index.js";

/** Run the CLI in-process and capture its exit code, stdout and stderr. */
export async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

/**
 * A new temporary folder (named `prefix` + random characters) holding `model/`: the tiny character
 * model of `@sage/model/testing` with weights `initWeights(config, 1)` and its tokenizer.
 */
export function tinyModelFolder(prefix: string): { dir: string; modelDir: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const modelDir = join(dir, "model");
  const { tokenizer, config } = tinyCharModel();
  saveModelDir(modelDir, config, initWeights(config, 1), { tokenizer });
  return { dir, modelDir };
}
