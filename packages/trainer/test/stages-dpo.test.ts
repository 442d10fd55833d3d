import { describe, expect, it } from "vitest";
import {
  checkDpoRun,
  type DpoStepMetrics,
  type MetricsRecord,
  optimizerStep,
  parseDpoTrainConfig,
  Rng,
  readMetrics,
  referencePass,
  runDpo,
  scoringRounds,
  startSelector,
  type TrainingSelector,
  trainStep,
} from "../src/index.js";
import { synthPairs, tempDir } from "./helpers/data.js";
import { EpochSelector, PoolSelector } from "./helpers/selectors.js";
import { ToyPolicy } from "./helpers/toy-policy.js";

const quiet = () => {};

/** A train record's step metrics: without event, step and the wall-clock fields runDpo adds. */
function stepMetrics(record: MetricsRecord): Record<string, unknown> {
  const { event: _event, step: _step, ...rest } = record;
  return Object.fromEntries(
    Object.entries(rest).filter(([k]) => !k.startsWith("time/") && k !== "sage/scoring_time_share"),
  );
}

describe("the DPO stages", () => {
  it("driven by hand, reproduce runDpo's metrics and weights exactly (runDpo is the stages plus the run folder)", async () => {
    const pairs = synthPairs(60);
    const input = {
      steps: 6,
      batchSize: 8,
      gradientAccumulation: 2,
      beta: 0.5,
      learningRate: 0.05,
      rpoAlpha: 0.5,
      lossType: "ipo" as const,
      seed: 4,
      gradSnrEvery: 3,
    };
    const dir = await tempDir();
    const viaRun = new ToyPolicy({ dim: 6 });
    const runSelector = new PoolSelector({ refreshEvery: 3, poolSize: 20 });
    const result = await runDpo({
      config: input,
      policy: viaRun,
      selector: runSelector,
      pairs,
      runDir: dir,
      log: quiet,
    });
    expect(result.status).toBe("completed");
    const logged = (await readMetrics(result.metricsPath)).filter((r) => r.event === "train");

    const config = parseDpoTrainConfig(input);
    const policy = new ToyPolicy({ dim: 6 });
    const selector = new PoolSelector({ refreshEvery: 3, poolSize: 20 });
    checkDpoRun(config, policy, pairs, false);
    const ref = await referencePass(policy, pairs, config);
    expect(ref.chosenTokens).toHaveLength(pairs.length);
    startSelector(selector, pairs, ref, config, new Rng(config.seed));
    const byHand: DpoStepMetrics[] = [];
    let rounds = 0;
    for (let step = 0; step < config.steps; step++) {
      rounds += (await scoringRounds(policy, selector, pairs, ref, step, config)).rounds;
      const r = await trainStep(policy, selector, pairs, ref, step, config);
      expect(r.nonFinite).toBeUndefined();
      expect(r.indices).toHaveLength(config.batchSize);
      byHand.push(r.metrics);
    }
    expect(rounds).toBeGreaterThan(1);
    expect(rounds).toBe(runSelector.scoringRequests);
    expect(logged.map(stepMetrics)).toEqual(byHand);
    expect([...policy.theta]).toEqual([...viaRun.theta]);
    // the options exercised really show: the NLL term, the SNR steps, ipo's per-token log-probs
    expect(byHand.every((m) => typeof m.nll_loss === "number")).toBe(true);
    expect(byHand.map((m) => m.grad_snr !== undefined)).toEqual([false, false, true, false, false, true]);
  });

  it("at the reference (first step) give TRL's invariants: ipo loss 1/(4β²), zero rewards, per-token logps", async () => {
    const pairs = synthPairs(16);
    const config = parseDpoTrainConfig({ steps: 1, batchSize: 4, beta: 0.25, lossType: "ipo" });
    const policy = new ToyPolicy();
    const ref = await referencePass(policy, pairs, config);
    const selector = new EpochSelector();
    startSelector(selector, pairs, ref, config, new Rng(1));
    const { indices, metrics } = await trainStep(policy, selector, pairs, ref, 0, config);
    expect(metrics.loss).toBeCloseTo(1 / (4 * 0.25 ** 2), 12);
    expect(metrics["rewards/chosen"]).toBe(0);
    expect(metrics["rewards/margins"]).toBe(0);
    const perToken = indices.reduce((s, i) => s + ref.chosen[i]! / ref.chosenTokens[i]!, 0) / indices.length;
    expect(metrics["logps/chosen"]).toBeCloseTo(perToken, 12);
    expect(metrics.skipped).toBe(false);
    expect(metrics.batch_size).toBe(4);
  });

  it("reject a selector's bad batch or endless scoring with SELECTION_INVALID", async () => {
    const pairs = synthPairs(10);
    const config = parseDpoTrainConfig({ steps: 1, batchSize: 4, maxScoringRounds: 2 });
    const policy = new ToyPolicy();
    const ref = await referencePass(policy, pairs, config);
    const base = new EpochSelector();
    startSelector(base, pairs, ref, config, new Rng(1));
    const duplicate: TrainingSelector = Object.assign(Object.create(base) as TrainingSelector, {
      selectBatch: () => [1, 1],
    });
    await expect(trainStep(policy, duplicate, pairs, ref, 0, config)).rejects.toMatchObject({
      code: "SELECTION_INVALID",
      message: expect.stringContaining("returned index 1"),
    });
    const endless: TrainingSelector = Object.assign(Object.create(base) as TrainingSelector, {
      nextScoringRequest: () => ({ indices: [0, 1] }),
    });
    await expect(scoringRounds(policy, endless, pairs, ref, 0, config)).rejects.toMatchObject({
      code: "SELECTION_INVALID",
      message: expect.stringContaining("maxScoringRounds = 2"),
    });
  });

  it("checkDpoRun rejects an empty data set and an SNR without micro-batches before anything runs", () => {
    const policy = new ToyPolicy();
    const config = parseDpoTrainConfig({ steps: 1 });
    expect(() => checkDpoRun(config, policy, [], false)).toThrow(
      expect.objectContaining({ code: "DATA_EMPTY" }),
    );
    const snr = parseDpoTrainConfig({ steps: 1, gradSnrEvery: 1 });
    expect(() => checkDpoRun(snr, policy, synthPairs(2), false)).toThrow(/gradientAccumulation ≥ 2/);
  });
});

describe("optimizerStep (the end of a DPO or SFT step)", () => {
  const config = {
    lrSchedule: "linear",
    learningRate: 0.1,
    warmupSteps: 0,
    steps: 10,
    maxGradNorm: null,
  } as const;
  const fake = (gradNorm: number, applied: boolean) => {
    const calls: string[] = [];
    return {
      calls,
      applyGradients: async (o: { learningRate: number; maxGradNorm: number | undefined }) => {
        calls.push(`apply ${o.learningRate} ${o.maxGradNorm}`);
        return { gradNorm, applied };
      },
      discardGradients: async () => {
        calls.push("discard");
      },
    };
  };

  it("applies at the schedule's learning rate, or discards unread when the inputs are not finite", async () => {
    const p = fake(2, true);
    expect(await optimizerStep(p, 5, config, true)).toEqual({
      learningRate: 0.05,
      gradNorm: 2,
      applied: true,
    });
    const q = fake(2, true);
    const skipped = await optimizerStep(q, 5, config, false);
    expect(skipped.applied).toBe(false);
    expect(skipped.gradNorm).toBeNaN();
    expect([...p.calls, ...q.calls]).toEqual(["apply 0.05 undefined", "discard"]);
  });

  it("reports a policy-discarded non-finite norm as not applied, and a policy that applied one as POLICY_INVALID", async () => {
    expect((await optimizerStep(fake(Number.NaN, false), 0, config, true)).applied).toBe(false);
    await expect(optimizerStep(fake(Number.POSITIVE_INFINITY, true), 0, config, true)).rejects.toMatchObject({
      code: "POLICY_INVALID",
    });
  });
});
