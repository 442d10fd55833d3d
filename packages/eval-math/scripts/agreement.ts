/**
 * Print the agreement figures of this grader on the shared real data.
 *
 *   npx tsx packages/eval-math/scripts/agreement.ts [--data <dir>]
 *
 * `--data` defaults to `../shared/data` relative to the repository root.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import {
  gsm8kPerturbationAgreement,
  loadBenchmark,
  math500SolutionAgreement,
  mathCotAgreement,
  perturbationRobustness,
} from "../src/index.js";

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "turbo.json"))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error("repository root (folder with turbo.json) not found");
    dir = up;
  }
  return dir;
}

const i = process.argv.indexOf("--data");
const data =
  i > 0 && process.argv[i + 1] !== undefined
    ? path.resolve(process.argv[i + 1]!)
    : path.resolve(repoRoot(), "../shared/data");
if (!existsSync(data)) throw new Error(`shared data folder not found: ${data}`);

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const t0 = performance.now();
const cot = mathCotAgreement(data);
console.log(
  `math_cot_100 (800 responses vs the file's grader): ${cot.agree}/${cot.total} = ${pct(cot.rate)}`,
);
console.log(
  `  extracted answer equivalent to the file's extracted \`pred\`: ${cot.extractionAgree}/${cot.total}`,
);
for (const d of cot.disagreements) {
  console.log(
    `  ${d.key}: ours=${d.ours} theirs=${d.theirs} extracted=${JSON.stringify(d.extracted)} reference=${JSON.stringify(d.reference)} (${d.reason})`,
  );
}
const m5 = math500SolutionAgreement(data);
console.log(`MATH-500 reference solution boxed answer vs answer: ${m5.agree}/${m5.total} = ${pct(m5.rate)}`);
for (const d of m5.disagreements)
  console.log(`  ${d.key}: ${JSON.stringify(d.extracted)} vs ${JSON.stringify(d.reference)} (${d.reason})`);
const gs = gsm8kPerturbationAgreement(data);
console.log(`GSM8K #### answers vs formatting perturbations: ${gs.agree}/${gs.total} = ${pct(gs.rate)}`);
for (const d of gs.disagreements.slice(0, 20))
  console.log(`  ${d.key}: ${JSON.stringify(d.extracted)} vs ${JSON.stringify(d.reference)} (${d.reason})`);
const sets = ["math500", "aime24", "amc23", "minerva_math", "olympiadbench", "gaokao2023en"];
const rb = perturbationRobustness(sets.flatMap((n) => loadBenchmark(n, { dataDir: data })));
console.log(`Reference answers (${sets.join(", ")}):`);
console.log(
  `  meaning-preserving rewrites graded equal: ${rb.equalTotal - rb.equalFailures.length}/${rb.equalTotal}`,
);
console.log(
  `  last-digit mutations graded not equal: ${rb.mutationTotal - rb.mutationsEqual.length}/${rb.mutationTotal}`,
);
for (const d of rb.mutationsEqual)
  console.log(
    `    still equal: ${JSON.stringify(d.extracted)} vs ${JSON.stringify(d.reference)} (${d.reason})`,
  );
console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
