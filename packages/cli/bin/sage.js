#!/usr/bin/env node
// The `sage` command. Resolves @sage/cli through the package's own exports: the built dist/ by
// default, or src/ when run with `node --conditions=@sage/source --import tsx` (development).
// It loads the package's `program` module, next to the entry, rather than the entry itself: the
// entry re-exports every command (and so loads every library), `program` loads a command only
// when it runs, which keeps `sage --help` fast. A build without that module falls back to the
// entry, and so does Node before 20.6 (no synchronous `import.meta.resolve`).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const entry = typeof import.meta.resolve === "function" ? import.meta.resolve("@sage/cli") : undefined;
const program = entry && new URL(entry.endsWith(".ts") ? "./program.ts" : "./program.js", entry);
const { runCli } =
  program?.protocol === "file:" && existsSync(fileURLToPath(program))
    ? await import(program.href)
    : await import("@sage/cli");

// `sage … --help | head`: a reader that stops early is not an error
process.stdout.on("error", (error) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(process.exitCode ?? 0);
});
process.exitCode = await runCli(process.argv.slice(2));
