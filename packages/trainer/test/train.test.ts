import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  dpoLoss,
  type MetricsRecord,
  type PreferencePair,
  readMetrics,
  runDpo,
  StopController,
  TRL_METRIC_NAMES,
  type TrainingSelector,
} from "../src/index.js";
import { synthPairs, tempDir } from "./helpers/data.js";
import { EpochSelector, PoolSelector } from "./helpers/selectors.js";
import { ToyPolicy } from "./helpers/toy-policy.js";

const quiet = () => {};
const BASE = { batchSize: 8, beta: 0.5, learningRate: 0.05, seed: 3, checkpointEvery: 5 };

/** Metrics without wall-clock fields (those differ between any two runs). */
function deterministic(records: MetricsRecord[]): MetricsRecord[] {
  return records.map((r) =>
    Object.fromEntries(
      Object.entries(r).filter(([k]) => !k.startsWith("time/") && k !== "sage/scoring_time_share"),
    ),
  ) as MetricsRecord[];
}

/**
 * ∂f/∂θ_d by central differences, perturbing `theta` in place (restored after). h = 1e-5:
 * truncation O(h²) ≈ 1e-10, rounding ≈ 1e-16/h ≈ 1e-11 — well inside the 1e-8 the tests demand.
 */
async function centralDifferences(theta: Float64Array, f: () => Promise<number>): Promise<number[]> {
  const h = 1e-5;
  const out: number[] = [];
  for (let d = 0; d < theta.length; d++) {
    const t = theta[d]!;
    theta[d] = t + h;
    const up = await f();
    theta[d] = t - h;
    const down = await f();
    theta[d] = t;
    out.push((up - down) / (2 * h));
  }
  return out;
}

function avg(records: MetricsRecord[], key: string): number {
  return records.reduce((s, r) => s + (r[key] as number), 0) / records.length;
}

describe("ToyPolicy (the CPU test policy)", () => {
  it("its DPO gradient matches central differences of the mean loss", async () => {
    const pairs = synthPairs(6);
    const policy = new ToyPolicy({ dim: 5 });
    const ref = await policy.sequenceLogProbs(pairs);
    policy.theta = policy.theta.map((v, i) => v + 0.3 * Math.sin(i + 1)); // move away from the reference
    const opts = { beta: 0.5, lossType: "sigmoid" as const };
    const meanLoss = async () => {
      const lp = await policy.sequenceLogProbs(pairs);
      const d = dpoLoss(lp.chosen, lp.rejected, ref.chosen, ref.rejected, opts);
      return d.losses.reduce((a, b) => a + b, 0) / pairs.length;
    };
    await policy.accumulateGradient(pairs, (lp) => {
      const d = dpoLoss(lp.chosen, lp.rejected, ref.chosen, ref.rejected, opts);
      return {
        chosen: d.dChosen.map((v) => v / pairs.length),
        rejected: d.dRejected.map((v) => v / pairs.length),
      };
    });
    const g = policy.gradient();
    const fd = await centralDifferences(policy.theta, meanLoss);
    for (const [d, v] of fd.entries()) expect(g[d]).toBeCloseTo(v, 8);
  });
});

describe("runDpo", () => {
  it("trains: loss falls, reward accuracy rises, TRL metric names every step, checkpoints, ref cache reused", async () => {
    const dir = await tempDir();
    const pairs = synthPairs(200);
    const refCacheDir = join(dir, "ref-cache");
    const policy = new ToyPolicy({ dim: 16 });
    const r = await runDpo({
      config: { ...BASE, learningRate: 0.1, steps: 60 },
      policy,
      selector: new EpochSelector(),
      pairs,
      runDir: join(dir, "run1"),
      refCacheDir,
      log: quiet,
    });
    expect(r).toMatchObject({ status: "completed", step: 60, nonFiniteSteps: 0, refSource: "computed" });
    expect(r.checkpoint).toMatch(/step-00000060$/);
    const m = await readMetrics(r.metricsPath);
    expect(m.map((x) => x.step)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    for (const rec of m) for (const name of TRL_METRIC_NAMES) expect(Number.isFinite(rec[name])).toBe(true);
    // Measured on this seed: first-10 mean loss 0.56 (step 1 is ln 2: policy = reference),
    // last-10 0.36; reward accuracy 0.66 → 0.88. Thresholds leave ~0.05 of slack.
    expect(avg(m.slice(0, 10), "loss")).toBeGreaterThan(0.5);
    expect(avg(m.slice(-10), "loss")).toBeLessThan(avg(m.slice(0, 10), "loss") - 0.15);
    expect(avg(m.slice(-10), "rewards/accuracies")).toBeGreaterThan(0.8);
    expect(m[0]!.loss).toBeCloseTo(Math.LN2, 12);
    expect(m[0]!["rewards/margins"]).toBeCloseTo(0, 12); // first step: policy = reference
    // a second run from the same starting weights and data hits the cache
    const again = await runDpo({
      config: { ...BASE, steps: 2 },
      policy: new ToyPolicy({ dim: 16 }),
      selector: new EpochSelector(),
      pairs,
      runDir: join(dir, "run2"),
      refCacheDir,
      log: quiet,
    });
    expect(again.refSource).toBe("cache");
  });

  const selectors: Array<[string, () => TrainingSelector, number]> = [
    ["uniform epochs", () => new EpochSelector(), 1],
    ["scoring pool selector", () => new PoolSelector({ refreshEvery: 4, poolSize: 32 }), 2],
  ];

  it.each(selectors)(
    "resumes bit for bit after an interruption (%s)",
    async (_name, makeSelector, gradientAccumulation) => {
      const dir = await tempDir();
      const pairs = synthPairs(120);
      const config = {
        ...BASE,
        steps: 30,
        gradientAccumulation,
        lrSchedule: "cosine" as const,
        warmupSteps: 3,
      };
      const straightPolicy = new ToyPolicy();
      const straight = await runDpo({
        config,
        policy: straightPolicy,
        selector: makeSelector(),
        pairs,
        runDir: join(dir, "straight"),
        log: quiet,
      });
      const stop = new StopController();
      const first = await runDpo({
        config,
        policy: new ToyPolicy(),
        selector: makeSelector(),
        pairs,
        runDir: join(dir, "split"),
        stop,
        onStep: (rec) => {
          if (rec.step === 17) stop.request("test");
        },
        log: quiet,
      });
      expect(first).toMatchObject({ status: "interrupted", step: 17 });
      expect(first.checkpoint).toMatch(/step-00000017$/);
      const resumedPolicy = new ToyPolicy({ seed: 99 }); // different init: everything must come from the checkpoint
      const second = await runDpo({
        config,
        policy: resumedPolicy,
        selector: makeSelector(),
        pairs,
        runDir: join(dir, "split"),
        resume: true,
        log: quiet,
      });
      expect(second).toMatchObject({ status: "completed", step: 30, resumedFrom: 17, refSource: "cache" });
      const a = deterministic(await readMetrics(straight.metricsPath));
      const b = deterministic(await readMetrics(second.metricsPath));
      expect(b).toEqual(a);
      expect(Array.from(resumedPolicy.theta)).toEqual(Array.from(straightPolicy.theta));
    },
  );

  it("asks the selector's scoring passes with token-dropout and logs SAGE metrics", async () => {
    const dir = await tempDir();
    const policy = new ToyPolicy();
    const selector = new PoolSelector({ refreshEvery: 5, poolSize: 40 });
    const r = await runDpo({
      config: { ...BASE, steps: 20 },
      policy,
      selector,
      pairs: synthPairs(100),
      runDir: dir,
      log: quiet,
    });
    expect(r.status).toBe("completed");
    expect(selector.scoringRequests).toBe(4); // steps 0, 5, 10, 15
    expect(policy.calls.scoredPairs).toBe(100 + 4 * 40); // reference pass + 4 pools
    const m = await readMetrics(r.metricsPath);
    expect(m.every((x) => x["sage/pool_size"] === 40)).toBe(true);
    const share = m.at(-1)!["sage/scoring_time_share"] as number;
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThan(1);
  });

  it("gradient accumulation gives the same update as one big batch", async () => {
    const pairs = synthPairs(64);
    const thetas: Float64Array[] = [];
    for (const gradientAccumulation of [1, 4]) {
      const policy = new ToyPolicy();
      await runDpo({
        config: { ...BASE, steps: 3, gradientAccumulation, maxGradNorm: null },
        policy,
        selector: new EpochSelector(),
        pairs,
        runDir: await tempDir(),
        log: quiet,
      });
      thetas.push(policy.theta);
    }
    // Same sums in a different order: float64 rounding only (relative 1e-12 is ~1e4 ulps of headroom).
    for (let d = 0; d < thetas[0]!.length; d++) expect(thetas[1]![d]).toBeCloseTo(thetas[0]![d]!, 12);
  });

  it("skips non-finite steps with their pair ids and stops after maxNonFinite, last good checkpoint intact", async () => {
    const pairs: PreferencePair[] = synthPairs(40).map((p, i) => ({
      ...p,
      chosen: i % 10 === 3 ? `${p.chosen} __nan__` : p.chosen,
      refChosenLogps: -5,
      refRejectedLogps: -5,
    }));
    const dir = await tempDir();
    const lines: string[] = [];
    const policy = new ToyPolicy();
    const r = await runDpo({
      config: { ...BASE, steps: 50, checkpointEvery: 1, maxNonFinite: 2 },
      policy,
      selector: new EpochSelector(),
      pairs,
      runDir: dir,
      log: (l) => lines.push(l),
    });
    expect(r.status).toBe("nonfinite");
    expect(r.refSource).toBe("data");
    expect(r.nonFiniteSteps).toBe(2);
    const events = (await readMetrics(r.metricsPath)).filter((x) => x.event === "nonfinite");
    expect(events).toHaveLength(2);
    for (const e of events)
      expect((e.pair_ids as string[]).some((id) => ["p3", "p13", "p23", "p33"].includes(id))).toBe(true);
    expect(lines.some((l) => l.includes("non-finite loss or log-probs"))).toBe(true);
    // the checkpoint is the step before the second bad step, and resuming from it works
    expect(r.checkpoint).toMatch(new RegExp(`step-${String(r.step - 1).padStart(8, "0")}$`));
    const resumed = new ToyPolicy({ seed: 5 });
    const again = await runDpo({
      config: { ...BASE, steps: r.step - 1, checkpointEvery: 1, maxNonFinite: 2 },
      policy: resumed,
      selector: new EpochSelector(),
      pairs,
      runDir: dir,
      resume: true,
      log: quiet,
    });
    expect(again.status).toBe("completed");
    expect(resumed.theta.every(Number.isFinite)).toBe(true);
    expect(Array.from(resumed.theta)).toEqual(Array.from(policy.theta)); // no update after the last good step
  });

  it("refuses to overwrite a run, to resume with another config or data, partial ref log-probs and bad selections", async () => {
    const dir = await tempDir();
    const pairs = synthPairs(30);
    const run = (config: object, extra: object = {}) =>
      runDpo({
        config: { ...BASE, steps: 4, ...config },
        policy: new ToyPolicy(),
        selector: new EpochSelector(),
        pairs,
        runDir: dir,
        log: quiet,
        ...extra,
      });
    await run({});
    await expect(run({})).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringMatching(/already has a checkpoint/),
    });
    await expect(run({ beta: 0.2 }, { resume: true })).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringMatching(/beta: checkpoint has 0.5, config has 0.2/),
    });
    await expect(run({ steps: 6 }, { resume: true, pairs: synthPairs(30, 8) })).rejects.toMatchObject({
      code: "CONFIG_INVALID",
    });
    await expect(run({ batchSize: 0 }, { runDir: await tempDir() })).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringContaining('field "batchSize"'),
    });
    const partial = pairs.map((p, i) => (i === 0 ? { ...p, refChosenLogps: -1, refRejectedLogps: -2 } : p));
    await expect(run({}, { runDir: await tempDir(), pairs: partial })).rejects.toMatchObject({
      code: "DATA_REF_PARTIAL",
    });
    const bad = new EpochSelector();
    bad.selectBatch = () => [0, 0];
    await expect(run({}, { runDir: await tempDir(), selector: bad })).rejects.toMatchObject({
      code: "SELECTION_INVALID",
    });
  });
});

describe("runDpo with rpoAlpha (DPO + NLL of the chosen, TRL's rpo_alpha)", () => {
  /** Records the micro-batches it trains on and the gradient it is asked to apply. */
  class RecordingPolicy extends ToyPolicy {
    micro: PreferencePair[][] = [];
    applied: Float64Array | undefined;
    override async accumulateGradient(
      pairs: readonly PreferencePair[],
      lossGradient: Parameters<ToyPolicy["accumulateGradient"]>[1],
    ) {
      this.micro.push([...pairs]);
      return super.accumulateGradient(pairs, lossGradient);
    }
    override async applyGradients(options: { learningRate: number; maxGradNorm: number | undefined }) {
      this.applied ??= Float64Array.from(this.gradient());
      return super.applyGradients(options);
    }
  }

  it("applies the gradient of mean DPO loss + α · Σ_micro (|micro|/n) · NLL_micro (central differences) and logs nll_loss", async () => {
    const dir = await tempDir();
    const alpha = 0.7;
    const policy = new RecordingPolicy({ dim: 6 });
    const pairs = synthPairs(12);
    const records: MetricsRecord[] = [];
    await runDpo({
      config: {
        ...BASE,
        batchSize: 5,
        gradientAccumulation: 2,
        steps: 1,
        rpoAlpha: alpha,
        maxGradNorm: null,
      },
      policy,
      selector: new EpochSelector(),
      pairs,
      runDir: join(dir, "run"),
      log: quiet,
      onStep: (r) => {
        records.push(r);
      },
    });
    // the micro-batches (3 + 2 pairs) and the gradient at the start weights θ0 (= the reference)
    expect(policy.micro.map((m) => m.length)).toEqual([3, 2]);
    const g = policy.applied!;
    const theta0 = Float64Array.from(policy.theta); // after the step; recompute the objective at θ0 below
    const probe = new ToyPolicy({ dim: 6 });
    const ref = await probe.sequenceLogProbs(policy.micro.flat());
    const n = 5;
    const objective = async () => {
      let total = 0;
      let offset = 0;
      for (const m of policy.micro) {
        const lp = await probe.sequenceLogProbs(m);
        const d = dpoLoss(
          lp.chosen,
          lp.rejected,
          ref.chosen.subarray(offset, offset + m.length),
          ref.rejected.subarray(offset, offset + m.length),
          { beta: BASE.beta, lossType: "sigmoid" },
        );
        let sum = 0;
        let tokens = 0;
        m.forEach((_, j) => {
          total += d.losses[j]! / n;
          sum += lp.chosen[j]!;
          tokens += lp.chosenTokens[j]!;
        });
        total += alpha * (m.length / n) * (-sum / tokens);
        offset += m.length;
      }
      return total;
    };
    const at0 = await objective();
    expect(records[0]!.loss).toBeCloseTo(at0, 10);
    expect(records[0]!.nll_loss).toBeGreaterThan(0);
    const fd = await centralDifferences(probe.theta, objective);
    for (const [d, v] of fd.entries()) expect(g[d]).toBeCloseTo(v, 8);
    expect(theta0).not.toEqual(probe.theta); // the run did update its own weights
  });

  it("ipo runs on per-token means, as TRL's concatenated_forward (central differences of the length-normalised loss)", async () => {
    const dir = await tempDir();
    const policy = new RecordingPolicy({ dim: 6 });
    const pairs = synthPairs(12);
    const records: MetricsRecord[] = [];
    await runDpo({
      config: { ...BASE, batchSize: 4, steps: 1, lossType: "ipo", maxGradNorm: null },
      policy,
      selector: new EpochSelector(),
      pairs,
      runDir: join(dir, "run"),
      log: quiet,
      onStep: (r) => {
        records.push(r);
      },
    });
    const batch = policy.micro.flat();
    const probe = new ToyPolicy({ dim: 6 });
    const ref = await probe.sequenceLogProbs(batch);
    const mean = (lp: Float64Array, tok: Uint32Array, i: number) => lp[i]! / tok[i]!;
    const objective = async () => {
      const lp = await probe.sequenceLogProbs(batch);
      let total = 0;
      for (let i = 0; i < batch.length; i++) {
        const h =
          mean(lp.chosen, lp.chosenTokens, i) -
          mean(ref.chosen, ref.chosenTokens, i) -
          (mean(lp.rejected, lp.rejectedTokens, i) - mean(ref.rejected, ref.rejectedTokens, i));
        total += (h - 1 / (2 * BASE.beta)) ** 2 / batch.length;
      }
      return total;
    };
    expect(records[0]!.loss).toBeCloseTo(await objective(), 10);
    const lp = await probe.sequenceLogProbs(batch);
    const meanLogp = batch.reduce((a, _, i) => a + mean(lp.chosen, lp.chosenTokens, i), 0) / batch.length;
    expect(records[0]!["logps/chosen"]).toBeCloseTo(meanLogp, 10);
    // sums instead of means would differ: responses have 1+ tokens of different lengths
    expect(new Set(lp.chosenTokens).size).toBeGreaterThan(1);
    const fd = await centralDifferences(probe.theta, objective);
    for (const [d, v] of fd.entries()) expect(policy.applied![d]).toBeCloseTo(v, 8);
  });

  it("rejects a negative rpoAlpha, naming the field", async () => {
    const dir = await tempDir();
    await expect(
      runDpo({
        config: { ...BASE, steps: 1, rpoAlpha: -1 },
        policy: new ToyPolicy(),
        selector: new EpochSelector(),
        pairs: synthPairs(8),
        runDir: join(dir, "run"),
        log: quiet,
      }),
    ).rejects.toThrow(/rpoAlpha/);
  });
});
