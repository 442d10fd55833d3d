import { Rng } from "@sage/core";
import type { RunPoint, RunSeries } from "../src/index.js";

/**
 * Deterministic synthetic runs shaped like the convergence benchmark's: accuracy follows a
 * saturating curve `a0 + (aMax − a0)(1 − e^{−step/tau})` plus seeded noise, four strata (harder
 * ones lower), evaluation every 20 steps to 200, wall-clock `msPerStep` (+ scoring for `sage`).
 */
export function syntheticRuns(seeds = [1, 2, 3]): RunSeries[] {
  const methods = [
    { method: "uniform", tau: 90, aMax: 0.62, msPerStep: 100, scoring: 0, frontier: false, snr: 1.0 },
    { method: "hard-mining", tau: 70, aMax: 0.55, msPerStep: 102, scoring: 0, frontier: false, snr: 1.1 },
    { method: "sage", tau: 40, aMax: 0.66, msPerStep: 100, scoring: 60, frontier: true, snr: 1.8 },
  ];
  const runs: RunSeries[] = [];
  for (const m of methods) {
    for (const seed of seeds) {
      const rng = new Rng(seed * 7919 + m.method.length);
      const rand = (): number => rng.next();
      const points: RunPoint[] = [];
      for (let step = 0; step <= 200; step += 20) {
        const base = 0.1 + (m.aMax - 0.1) * (1 - Math.exp(-step / m.tau));
        const accuracy = Math.min(1, Math.max(0, base + (rand() - 0.5) * 0.02));
        const byStratum = [1.25, 1.05, 0.85, 0.6].map((f) => Math.min(1, Math.max(0, accuracy * f)));
        const wallMs = step * (m.msPerStep + m.scoring);
        points.push({
          step,
          wallMs,
          accuracy,
          byStratum,
          ...(m.frontier ? { frontier: Math.min(3, Math.floor(step / 60)) } : {}),
          ...(step > 0 ? { snr: m.snr * (1 + (rand() - 0.5) * 0.2) } : {}),
          scoringMs: step * m.scoring,
        });
      }
      runs.push({ method: m.method, seed, points });
    }
  }
  return runs;
}
