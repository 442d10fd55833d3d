import { resolveStabilityConfig } from "@sage/stability";
import { describe, expect, it } from "vitest";
import {
  createSelector,
  DEFAULT_SIMULATION_CONFIG,
  generateTask,
  meanInterval,
  type SimulationArm,
  simulate,
  simulatedStats,
  simulationStudy,
  t975,
} from "../src/index.js";

const B = 8;

/** The four arms the method docs report (docs/method.md, "Simulation"). */
const ARMS: SimulationArm[] = [
  { label: "uniform", selector: "uniform", config: { batchSize: B } },
  { label: "sage", selector: "sage", config: { batchSize: B } },
  { label: "score-only", selector: "score-only", config: { batchSize: B } },
  {
    label: "score-only, K = 1, α = 0",
    selector: "score-only",
    config: { batchSize: B, perturbation: "none", stability: { k: 1, alpha: 0 } },
  },
];

describe("simulated task: what it is made of", () => {
  const task = generateTask({ seed: 3 });

  it("token log-probs look like a language model's: most near 0, a few decisive tokens", () => {
    const r = task.train.responses;
    let near0 = 0;
    let decisive = 0;
    const total = r.offset[r.count]!;
    const D = task.config.dim;
    for (let t = 0; t < total; t++) {
      let x = r.logit[t]!;
      for (let d = 0; d < D; d++) x += task.thetaRef[d]! * r.features[t * D + d]!;
      const lp = x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
      if (lp > -0.05) near0++;
      if (lp < -1) decisive++;
    }
    // filler ≈ 85% of tokens (1–3 decisive of 8–24); ≥ 75% and ≥ 3% are loose bounds
    expect(near0 / total).toBeGreaterThan(0.75);
    expect(decisive / total).toBeGreaterThan(0.03);
  });

  it("some pairs flip sign under token dropout; label noise is seeded, hard-leaning, and leaves the held-out set alone", () => {
    const sel = createSelector("score-only", { dataset: task.meta, batchSize: B, seed: 3 });
    sel.needsRefresh(0);
    const req = sel.requestScoring();
    const stats = simulatedStats(task, task.thetaRef, req, resolveStabilityConfig());
    let flips = 0;
    for (let j = 0; j < req.pairIds.length; j++) {
      const m = Array.from(stats.perturbed!.subarray(j * 4, j * 4 + 4));
      if (m.some((v) => v > 0) && m.some((v) => v < 0)) flips++;
    }
    expect(flips / req.pairIds.length).toBeGreaterThan(0.02);
    const n = task.train.n;
    let flipped = 0;
    let hard = 0;
    for (let i = 0; i < n; i++) {
      flipped += task.train.flipped[i]!;
      if (task.train.flipped[i] && task.train.latent[i]! > 0.5) hard++;
    }
    // Binomial(3000, 0.2): sd ≈ 22; ±100 is > 4 sd. Flip probability 2·0.2·z puts 3/4 of flips at z > 0.5.
    expect(Math.abs(flipped - 0.2 * n)).toBeLessThan(100);
    expect(hard / flipped).toBeGreaterThan(0.65);
    const clean = generateTask({ seed: 3, labelNoise: 0 });
    expect(clean.evalSet.correct).toEqual(task.evalSet.correct);
    expect(clean.train.flipped.every((v) => v === 0)).toBe(true);
  });

  it("is deterministic for a seed", () => {
    const a = simulate("sage", { sim: { seed: 5, steps: 30 }, selectorConfig: { seed: 5, batchSize: B } });
    const b = simulate("sage", { sim: { seed: 5, steps: 30 }, selectorConfig: { seed: 5, batchSize: B } });
    expect(b.accuracy).toEqual(a.accuracy);
    expect(b.events).toEqual(a.events);
  });

  it("t-interval helper: t(0.975, df) from the table and beyond; interval of a known sample", () => {
    expect(t975(19)).toBe(2.093);
    expect(t975(4)).toBe(2.776);
    // beyond the table: t(0.975, 40) = 2.021, t(0.975, 120) = 1.980 (tables), to 1e-3
    expect(Math.abs(t975(40) - 2.021)).toBeLessThan(1e-3);
    expect(Math.abs(t975(120) - 1.98)).toBeLessThan(1e-3);
    const m = meanInterval([1, 2, 3, 4, 5]); // sd = √2.5, half = 2.776·√(2.5/5)
    expect(m.mean).toBe(3);
    expect(m.hi - m.mean).toBeCloseTo(2.776 * Math.sqrt(0.5), 2);
  });
});

describe("simulation study: SAGE vs uniform vs score-only, 20 seeds", () => {
  // 4 arms × 20 seeds × 100 steps ≈ 6 s of CPU on this machine; the timeout only guards a hang.
  it("regime is valid; SAGE reaches the target in fewer steps than uniform at equal final accuracy", {
    timeout: 120_000,
  }, () => {
    const seeds = Array.from({ length: 20 }, (_, i) => i);
    const study = simulationStudy(ARMS, { seeds });
    const f = (m: { mean: number; lo: number; hi: number }, d = 3) =>
      `${m.mean.toFixed(d)} [${m.lo.toFixed(d)}, ${m.hi.toFixed(d)}]`;
    console.log(`initial pass@1 ${f(study.initialAccuracy)}`);
    for (const a of study.arms) {
      console.log(
        `${a.label}: steps ${f(a.stepsToTarget, 1)} (reached ${a.reached}/20, Δ ${f(a.stepsVsFirst, 1)}); final ${f(a.finalAccuracy)} (Δ ${f(a.finalVsFirst)}); noisy share ${a.noisyShare.mean.toFixed(3)}`,
      );
    }
    const [uniform, sage, scoreOnly] = study.arms as [
      (typeof study.arms)[0],
      (typeof study.arms)[0],
      (typeof study.arms)[0],
    ];
    const c = DEFAULT_SIMULATION_CONFIG;
    // a test that can fail both ways: uniform DPO gains ≥ 10 points of pass@1 within the budget
    // (measured +0.41), and the candidate set is ≥ 3× the pairs a run trains on (3000 vs 800)
    expect(uniform.finalAccuracy.mean - study.initialAccuracy.mean).toBeGreaterThan(0.1);
    expect(c.trainPairs).toBeGreaterThanOrEqual(3 * c.steps * B);
    expect(uniform.reached).toBe(20);
    // SAGE: paired difference in steps to target (measured −12.5, CI [−16.5, −8.5]) is below 0,
    // final pass@1 within 3 points of uniform's (measured −0.001, CI [−0.011, 0.008])
    expect(sage.stepsVsFirst.hi).toBeLessThan(0);
    expect(sage.finalVsFirst.lo).toBeGreaterThan(-0.03);
    // the fine score alone chases confident errors, which include mislabeled pairs: score-only
    // trains on more of them than uniform (measured 0.29 vs 0.20 of pair-steps)
    expect(scoreOnly.noisyShare.mean).toBeGreaterThan(uniform.noisyShare.mean + 0.05);
    // cost accounting: equal training passes; one scoring pass per pooled pair with token dropout
    for (const a of study.arms) expect(a.trainingPasses).toBe(3 * c.steps * B);
    expect(uniform.scoringPasses.mean).toBe(0);
    for (const run of sage.runs) {
      const pooled = run.events.reduce((s, e) => s + (e.type === "refresh" ? e.poolSize : 0), 0);
      expect(run.scoringPasses).toBe(pooled);
    }
  });
});
