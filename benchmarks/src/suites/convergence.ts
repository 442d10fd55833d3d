/**
 * `npm run bench -- convergence [--quick] [--seeds LIST] [--steps N] …`
 *
 * The paper's claim under our control: `uniform`, `random`, `hard-mining`, `small-margin`,
 * `selective`, `curriculum-only`, `score-only` and `sage`, each over ≥ 3 seeds from the same start
 * policy (the SFT checkpoint shipped with `@sage/cli`) and the same on-policy pair pool, with the same
 * step budget. A thin wrapper around `sage bench convergence` (`@sage/cli`'s `benchCommand`): results go
 * to `benchmarks/results/convergence-<adapter>.json` (+ the report and PNGs in `convergence-<adapter>/`),
 * with `--quick` to `benchmarks/out/` (git-ignored).
 */
import * as path from "node:path";
import { runCli } from "@sage/cli";
import { OUT_DIR, RESULTS_DIR, userPath } from "../lib/results.js";
import type { Suite } from "../lib/suite.js";

const USAGE = `usage: npm run bench -- convergence [options]

  --quick               1 seed, 6 steps, small pool (a few minutes on 2 cores); results in benchmarks/out/
  --methods LIST        selectors, comma-separated (default all 8; must include uniform and sage)
  --seeds LIST          reported seeds (default 1,2,3; at least 3 unless --quick)
  --tuning-seeds LIST   seeds reserved for tuning, never reported (default 100)
  --steps N             DPO steps per run (default 30)        --eval-every N   (default 5)
  --problems N          pool problems per level (default 64)  --eval-problems N (default 16)
  --samples N           samples per pool problem (default 8)  --learning-rate LR (default 1e-4)
  --target ACC          target pass@1 (default: start + 90% of uniform's gain)
  --model DIR           start policy (default: @sage/cli's shipped SFT checkpoint)
  --out DIR             results folder (default benchmarks/results, --quick benchmarks/out)
  --no-progress         no progress bars`;

export const suite: Suite = {
  name: "convergence",
  description: "SAGE vs 7 baselines: pass@1, steps and wall-clock to a target, SNR, scoring share",
  usage: USAGE,
  async run(args) {
    const argv = [...args];
    const quick = argv.includes("--quick");
    const outAt = argv.indexOf("--out");
    if (outAt >= 0 && argv[outAt + 1] !== undefined) argv[outAt + 1] = userPath(argv[outAt + 1]!);
    else argv.push("--out", quick ? OUT_DIR : RESULTS_DIR);
    const modelAt = argv.indexOf("--model");
    if (modelAt >= 0 && argv[modelAt + 1] !== undefined) argv[modelAt + 1] = userPath(argv[modelAt + 1]!);
    if (!argv.includes("--run-dir")) argv.push("--run-dir", path.join(OUT_DIR, "convergence-runs"));
    return runCli(["bench", "convergence", ...argv]);
  },
};
