import { runCli } from "../src/index.js";

/** Run the CLI in-process and capture its exit code, stdout and stderr. */
export async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}
