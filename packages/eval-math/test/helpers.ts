import { existsSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** The monorepo root: the first folder above this file that holds `turbo.json`. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, "turbo.json"))) return dir;
    const up = path.dirname(dir);
    if (up === dir)
      throw new Error("could not find the repository root (a folder with turbo.json) above the test file");
    dir = up;
  }
}

/** The shared data folder `../shared/data` next to the repository; fails loudly when missing. */
export function dataDir(): string {
  const dir = path.resolve(repoRoot(), "../shared/data");
  if (!existsSync(path.join(dir, "benchmarks")) || !existsSync(path.join(dir, "model-outputs"))) {
    throw new Error(
      `shared data folder missing: expected ${dir} with benchmarks/ and model-outputs/ (see ../shared/data/README.md). These tests need the real data and do not skip.`,
    );
  }
  return dir;
}
