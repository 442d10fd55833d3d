/**
 * The simulation table of docs/method.md ("Simulation: a fast, fair check"): every arm on the
 * reported seeds 0–19 with label noise (the default 0.2), then the clean-label rows, printed as
 * Markdown. Run from the repository root:
 *   node --conditions=@sage/source --import tsx packages/curriculum/scripts/simulation-table.ts
 * CPU only, deterministic (same output on every machine); a few minutes on one core.
 */
import { type ArmSummary, type MeanInterval, type SimulationArm, simulationStudy } from "../src/index.js";

const B = 8;
const SEEDS = Array.from({ length: 20 }, (_, i) => i);

const ARMS: SimulationArm[] = [
  { label: "uniform", selector: "uniform", config: { batchSize: B } },
  { label: "**sage** (v2 defaults)", selector: "sage", config: { batchSize: B } },
  { label: "score-only", selector: "score-only", config: { batchSize: B } },
  {
    label: "score-only, K = 1, α = 0",
    selector: "score-only",
    config: { batchSize: B, perturbation: "none", stability: { k: 1, alpha: 0 } },
  },
  { label: 'sage, `scale = "raw"`', selector: "sage", config: { batchSize: B, stability: { scale: "raw" } } },
  { label: 'sage, `competence = "probe"`', selector: "sage", config: { batchSize: B, competence: "probe" } },
  {
    label: "sage, v1 (raw + probe)",
    selector: "sage",
    config: { batchSize: B, competence: "probe", stability: { scale: "raw" } },
  },
  {
    label: 'score-only, `scale = "raw"`',
    selector: "score-only",
    config: { batchSize: B, stability: { scale: "raw" } },
  },
  { label: "curriculum-only", selector: "curriculum-only", config: { batchSize: B } },
  { label: "random", selector: "random", config: { batchSize: B } },
];

const f = (m: MeanInterval, d: number, sign = false) => {
  const s = (x: number) => `${sign && x > 0 ? "+" : ""}${x.toFixed(d)}`;
  return `${s(m.mean)} [${s(m.lo)}, ${s(m.hi)}]`;
};

function table(arms: readonly ArmSummary[]): string {
  const rows = [
    "| arm | steps to 0.70 | reached | Δ steps | final pass@1 | Δ final | noisy |",
    "|---|---|---|---|---|---|---|",
  ];
  arms.forEach((a, i) => {
    rows.push(
      `| ${a.label} | ${f(a.stepsToTarget, 1)} | ${a.reached}/${a.runs.length} | ${i === 0 ? "—" : f(a.stepsVsFirst, 1, true)} | ${f(a.finalAccuracy, 3)} | ${i === 0 ? "—" : f(a.finalVsFirst, 3, true)} | ${a.noisyShare.mean.toFixed(3)} |`,
    );
  });
  return rows.join("\n");
}

const noisy = simulationStudy(ARMS, { seeds: SEEDS });
console.log(`label noise 0.2: initial pass@1 ${f(noisy.initialAccuracy, 3)}\n`);
console.log(table(noisy.arms));
const clean = simulationStudy(
  ARMS.filter((a) =>
    [
      "uniform",
      "**sage** (v2 defaults)",
      "score-only",
      "score-only, K = 1, α = 0",
      "curriculum-only",
    ].includes(a.label),
  ),
  { seeds: SEEDS, sim: { labelNoise: 0 } },
);
console.log(`\nclean labels: initial pass@1 ${f(clean.initialAccuracy, 3)}\n`);
console.log(table(clean.arms));
