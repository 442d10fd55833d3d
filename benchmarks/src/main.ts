/**
 * `npm run bench -- <suite> [options]`: runs `src/suites/<suite>.ts`. Suites are found by listing
 * that folder; a suite file exports `suite` (see `lib/suite.ts`).
 */
import { readdirSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isInputError } from "@sage/core";
import { isSuite, type Suite, UsageError } from "./lib/suite.js";

const SUITES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "suites");
const SUITE_FILE = /^([a-z][a-z0-9-]*)\.(ts|js|mjs)$/;

function suiteFiles(): Map<string, string> {
  const found = new Map<string, string>();
  for (const f of readdirSync(SUITES_DIR).sort()) {
    const m = SUITE_FILE.exec(f);
    if (m?.[1] && !f.endsWith(".d.ts") && !found.has(m[1])) found.set(m[1], path.join(SUITES_DIR, f));
  }
  return found;
}

async function loadSuite(file: string, name: string): Promise<Suite> {
  const mod = (await import(pathToFileURL(file).href)) as { suite?: unknown };
  if (!isSuite(mod.suite) || mod.suite.name !== name) {
    throw new Error(`src/suites/${path.basename(file)}: expected an export \`suite\` named '${name}'`);
  }
  return mod.suite;
}

async function main(argv: readonly string[]): Promise<number> {
  const files = suiteFiles();
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h") {
    console.log("usage: npm run bench -- <suite> [options]   (npm run bench -- <suite> --help)\n\nsuites:");
    for (const [n, f] of files) console.log(`  ${n.padEnd(14)} ${(await loadSuite(f, n)).description}`);
    return name ? 0 : 2;
  }
  const file = files.get(name);
  if (!file) {
    console.error(`unknown suite '${name.slice(0, 40)}': expected one of ${[...files.keys()].join(", ")}`);
    return 2;
  }
  const suite = await loadSuite(file, name);
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(suite.usage);
    return 0;
  }
  try {
    return await suite.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${e.message}\n\n${suite.usage}`);
      return 2;
    }
    // bad input caught by a library (a config or design the user can fix): exit 2, not a crash
    if (isInputError(e)) {
      console.error(`${(e as Error).name}: ${(e as Error).message}`);
      return 2;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exitCode = 1;
  },
);
