import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { GpuContext } from "@sage/kernels-webgpu";
import { createTestContext } from "@sage/kernels-webgpu/testing";
import { initWeights } from "@sage/model";
import { BOXED_CHARS, tinyCharModel } from "@sage/model/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BatchLogProbs,
  type ComparisonOptions,
  type ComparisonPolicy,
  curriculumSelector,
  flipLabels,
  interleavedOrder,
  type LogProbGradient,
  type PreferencePair,
  type Problem,
  runComparison,
  type SequenceLogProbs,
  type SftExample,
  SNR_METHODS,
  StopController,
  type TokenDropout,
  TrainerError,
  webGpuComparisonPolicies,
  withSnr,
} from "../src/index.js";
import { boxedSumPairs, synthPairs, tempDir } from "./helpers/data.js";
import { ToyPolicy } from "./helpers/toy-policy.js";

/**
 * A simulated machine: a tick clock the fake policy advances by fixed costs, so every wall-clock
 * number below is an exact count (no real clock is read). Costs: 1 tick per pair in a forward pass,
 * 10 per gradient pass, 1000 per evaluation, and 5000 once per "process" for the first gradient pass
 * (pipeline compilation — the one-time warm-up the runner must keep out of every timed run).
 */
class World {
  now = 0;
  compiled = false;
  clock = (): number => this.now;
  gradientPass(): void {
    if (!this.compiled) {
      this.compiled = true;
      this.now += 5000;
    }
    this.now += 10;
  }
}

class ClockedPolicy extends ToyPolicy {
  readonly #world: World;
  constructor(world: World) {
    super({ dim: 6, seed: 1 });
    this.#world = world;
  }
  override async sequenceLogProbs(
    pairs: readonly PreferencePair[],
    options: { readonly dropout?: TokenDropout } = {},
  ): Promise<SequenceLogProbs> {
    this.#world.now += pairs.length;
    return super.sequenceLogProbs(pairs, options);
  }
  override async accumulateGradient(
    pairs: readonly PreferencePair[],
    lossGradient: (logps: BatchLogProbs) => LogProbGradient,
  ): Promise<BatchLogProbs> {
    this.#world.gradientPass();
    return super.accumulateGradient(pairs, lossGradient);
  }
  override async accumulateSequenceGradient(
    examples: readonly SftExample[],
    lossGradient: (logps: Float64Array, tokens: Uint32Array) => Float64Array,
  ): Promise<{ logps: Float64Array; tokens: Uint32Array }> {
    this.#world.gradientPass();
    return super.accumulateSequenceGradient(examples, lossGradient);
  }
}

const heldOut = synthPairs(12, 99);
const problems: Problem[] = heldOut.map((p, i) => ({
  id: p.id,
  prompt: p.prompt,
  answer: "x",
  level: i < 6 ? 1 : 2,
}));

/** Evaluation counts (by step) and a pass@1 proxy: held-out pairs whose chosen log-prob is higher. */
function harness(world: World, extra: Partial<ComparisonOptions> = {}) {
  const evals: { seed: number; step: number; method: string | null }[] = [];
  const starts: string[] = [];
  const purposes: string[] = [];
  const options = (runDir: string): ComparisonOptions => ({
    pairs: synthPairs(60, 5),
    problems,
    startPolicy: (request) => {
      purposes.push(request.purpose);
      return { policy: new ClockedPolicy(world) };
    },
    evaluate: async (policy: ComparisonPolicy, probs, at) => {
      evals.push({ ...at });
      const lp = await policy.sequenceLogProbs(heldOut);
      world.now += 1000;
      const ok = probs.map((_, i) => (lp.chosen[i]! > lp.rejected[i]! ? 1 : 0));
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      return {
        "eval/pass@1": mean(ok),
        "eval/pass@1/level_1": mean(ok.slice(0, 6)),
        "eval/pass@1/level_2": mean(ok.slice(6)),
      };
    },
    methods: ["uniform", "sage", "sft-chosen"],
    seeds: [1, 2, 3],
    steps: 4,
    batchSize: 4,
    evalSteps: [2, 4],
    train: { beta: 0.5, learningRate: 0.05 },
    curriculum: { refreshEvery: 2, probeSize: 2, nStrata: 2 },
    runDir,
    clock: world.clock,
    onRunStart: (r) => starts.push(`${r.seed}:${r.method}`),
    log: () => {},
    ...extra,
  });
  return { evals, starts, purposes, options };
}

describe("interleavedOrder", () => {
  it("is seed-major with the method list rotated by one per seed", () => {
    expect(interleavedOrder([1, 2, 3, 4], ["a", "b", "c"]).map((r) => `${r.seed}${r.method}`)).toEqual([
      "1a",
      "1b",
      "1c",
      "2b",
      "2c",
      "2a",
      "3c",
      "3a",
      "3b",
      "4a",
      "4b",
      "4c",
    ]);
  });
});

describe("flipLabels", () => {
  it("flips round(share · n) seeded pairs, swaps their responses and records their ids", () => {
    const pairs = synthPairs(60, 5).map((p) => ({ ...p, refChosenLogps: -1, refRejectedLogps: -2 }));
    const a = flipLabels(pairs, { share: 0.2, seed: 11 });
    expect(a.flippedIds).toHaveLength(12);
    expect(flipLabels(pairs, { share: 0.2, seed: 11 }).flippedIds).toEqual(a.flippedIds);
    expect(flipLabels(pairs, { share: 0.2, seed: 12 }).flippedIds).not.toEqual(a.flippedIds);
    let flipped = 0;
    a.pairs.forEach((p, i) => {
      const o = pairs[i]!;
      expect(p.id).toBe(o.id);
      if (a.flippedIds.includes(p.id)) {
        flipped++;
        expect([p.chosen, p.rejected, p.refChosenLogps, p.refRejectedLogps]).toEqual([
          o.rejected,
          o.chosen,
          -2,
          -1,
        ]);
      } else expect(p).toBe(o);
    });
    expect(flipped).toBe(12);
    expect(() => flipLabels(pairs, { share: 1.5, seed: 1 })).toThrow(
      /labelNoise.share must be a number in \[0, 1\]/,
    );
  });
});

describe("runComparison", () => {
  it("runs every (seed, method) interleaved, evaluates step 0 once per seed, and points at evalSteps", async () => {
    const world = new World();
    const h = harness(world);
    const result = await runComparison(h.options(await tempDir()));
    const order = [
      "1:uniform",
      "1:sage",
      "1:sft-chosen",
      "2:sage",
      "2:sft-chosen",
      "2:uniform",
      "3:sft-chosen",
      "3:uniform",
      "3:sage",
    ];
    expect(h.starts).toEqual(order);
    expect(result.order.map((r) => `${r.seed}:${r.method}`)).toEqual(order);
    expect(result.runs.map((r) => `${r.seed}:${r.method}`)).toEqual(order);
    expect(result.complete).toBe(true);
    expect(result.resumed).toEqual([]);
    expect(result.strata).toEqual([1, 2]);
    // step 0: one evaluation per seed, shared by every run of that seed
    expect(h.evals.filter((e) => e.step === 0)).toEqual([
      { seed: 1, step: 0, method: null },
      { seed: 2, step: 0, method: null },
      { seed: 3, step: 0, method: null },
    ]);
    expect(h.evals).toHaveLength(3 + 9 * 2);
    for (const run of result.runs) {
      expect(run.points.map((p) => p.step)).toEqual([0, 2, 4]);
      expect(run.points[0]).toEqual(result.initial.find((i) => i.seed === run.seed)!.point);
      for (const p of run.points) expect(p.byStratum).toHaveLength(2);
    }
    // one start copy for the design/step-0 evaluations, one per warm-up method, one per run
    expect(h.purposes.filter((p) => p === "initial")).toHaveLength(1);
    expect(h.purposes.filter((p) => p === "warmup")).toHaveLength(3);
    expect(h.purposes.filter((p) => p === "run")).toHaveLength(9);
    // every run trained 4 batches of 4 distinct candidate indices
    for (const d of result.details) {
      expect(d.batches).toHaveLength(4);
      for (const b of d.batches) expect(new Set(b).size).toBe(4);
      expect(d.flippedSelections).toBe(0);
    }
  });

  it("wall-clock counts the steps only (scoring included; setup, evaluation and warm-up excluded alike)", async () => {
    const world = new World();
    const h = harness(world);
    const result = await runComparison(h.options(await tempDir()));
    for (const d of result.details) {
      const run = result.runs.find((r) => r.method === d.method && r.seed === d.seed)!;
      if (d.kind === "sft-chosen") {
        // 4 steps × one 10-tick gradient pass; no scoring
        expect([d.wallMs, d.scoringMs]).toEqual([40, 0]);
        expect(run.points.map((p) => p.wallMs)).toEqual([0, 20, 40]);
      } else if (d.method === "uniform") {
        // 4 steps × (10-tick gradient pass + 4 pairs forward inside it); never scores
        expect([d.wallMs, d.scoringMs]).toEqual([56, 0]);
        expect(run.points.map((p) => p.wallMs)).toEqual([0, 28, 56]);
      } else {
        // sage: the same training cost plus its scoring passes (1 tick per scored pair), all inside steps
        expect(d.scoringMs).toBeGreaterThan(0);
        expect(d.wallMs).toBe(56 + d.scoringMs);
        expect(run.points.at(-1)!.scoringMs).toBe(d.scoringMs);
      }
    }
    // without the warm-up, the one-time compilation lands in whichever run happens to go first
    const cold = new World();
    const c = harness(cold, { warmupSteps: 0, methods: ["uniform"], seeds: [1, 2] });
    const r = await runComparison(c.options(await tempDir()));
    expect(r.details.map((d) => d.wallMs)).toEqual([5056, 56]);
  });

  it("the sft-chosen control trains on the batches uniform draws with the same seed", async () => {
    const h = harness(new World());
    const result = await runComparison(h.options(await tempDir()));
    const batches = (method: string, seed: number) =>
      result.details.find((d) => d.method === method && d.seed === seed)!.batches;
    for (const seed of [1, 2, 3]) expect(batches("sft-chosen", seed)).toEqual(batches("uniform", seed));
    expect(batches("uniform", 1)).not.toEqual(batches("uniform", 2));
  });

  it("label noise: one seeded flip of the candidate set shared by every run, recorded by id", async () => {
    const dir = await tempDir();
    const h = harness(new World(), {
      labelNoise: { share: 0.2, seed: 4 },
      methods: ["uniform", "sage"],
      seeds: [1, 2],
    });
    const result = await runComparison(h.options(dir));
    const expected = flipLabels(synthPairs(60, 5), { share: 0.2, seed: 4 }).flippedIds;
    expect(result.labelNoise).toEqual({ share: 0.2, seed: 4, flippedIds: expected });
    expect(JSON.parse(await readFile(join(dir, "label-noise.json"), "utf8"))).toEqual(result.labelNoise);
    const flippedIndex = new Set(synthPairs(60, 5).flatMap((p, i) => (expected.includes(p.id) ? [i] : [])));
    let total = 0;
    for (const d of result.details) {
      const count = d.batches.flat().filter((i) => flippedIndex.has(i)).length;
      expect(d.flippedSelections).toBe(count);
      total += count;
    }
    // 16 selections per run from 60 pairs with 12 flipped: some flipped pair is drawn somewhere
    expect(total).toBeGreaterThan(0);
  });

  it("resumes after a crash: finished runs are loaded, the rest trained, results equal an uninterrupted run", async () => {
    const methods = ["uniform", "sage"] as const;
    const reference = await runComparison(
      harness(new World(), { methods, seeds: [1, 2] }).options(await tempDir()),
    );

    const dir = await tempDir();
    const first = harness(new World(), { methods, seeds: [1, 2] });
    const base = first.options(dir);
    let crashed = false;
    await expect(
      runComparison({
        ...base,
        evaluate: async (policy, probs, at) => {
          if (at.seed === 2 && at.method === "sage" && at.step === 4 && !crashed) {
            crashed = true;
            throw new Error("simulated crash");
          }
          return base.evaluate(policy, probs, at);
        },
      }),
    ).rejects.toThrow(/simulated crash/);
    expect(first.starts).toEqual(["1:uniform", "1:sage", "2:sage"]);
    expect((await readdir(join(dir, "results"))).sort()).toEqual([
      "initial-s1.json",
      "initial-s2.json",
      "sage-s1.json",
      "uniform-s1.json",
    ]);

    // a new process (fresh clock and compile state) on the same folder
    const second = harness(new World(), { methods, seeds: [1, 2] });
    const resumed = await runComparison(second.options(dir));
    expect(second.starts).toEqual(["2:sage", "2:uniform"]);
    expect(resumed.resumed).toEqual([
      { seed: 1, method: "uniform" },
      { seed: 1, method: "sage" },
    ]);
    // step 0 is not evaluated again; only the 2 remaining runs × 2 points are
    expect(second.evals.filter((e) => e.step === 0)).toHaveLength(0);
    expect(second.evals).toHaveLength(4);
    expect(resumed.runs).toEqual(reference.runs);
    expect(resumed.details.map((d) => d.batches)).toEqual(reference.details.map((d) => d.batches));
  });

  it("a stop request ends the comparison after the current run, unfinished; a rerun completes it", async () => {
    const dir = await tempDir();
    const stop = new StopController();
    const h = harness(new World(), {
      methods: ["uniform", "sage"],
      seeds: [1],
      stop,
      onRunStart: (r) => {
        if (r.index === 1) stop.request("test");
      },
    });
    const partial = await runComparison(h.options(dir));
    expect(partial.complete).toBe(false);
    expect(partial.runs.map((r) => r.method)).toEqual(["uniform"]);
    expect((await readdir(join(dir, "results"))).sort()).toEqual(["initial-s1.json", "uniform-s1.json"]);
    const again = await runComparison(
      harness(new World(), { methods: ["uniform", "sage"], seeds: [1] }).options(dir),
    );
    expect(again.complete).toBe(true);
    expect(again.resumed).toEqual([{ seed: 1, method: "uniform" }]);
    expect(again.runs.map((r) => r.method)).toEqual(["uniform", "sage"]);
  });

  it("refuses to resume a folder written by a different design", async () => {
    const dir = await tempDir();
    await runComparison(harness(new World(), { methods: ["uniform"], seeds: [1] }).options(dir));
    const changed = harness(new World(), { methods: ["uniform"], seeds: [1], steps: 6, evalSteps: [3, 6] });
    const err = await runComparison(changed.options(dir)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainerError);
    expect((err as TrainerError).code).toBe("CONFIG_INVALID");
    expect((err as TrainerError).message).toMatch(/different comparison design/);
    const otherConfig = harness(new World(), {
      methods: [{ label: "uniform", selector: "uniform", train: { learningRate: 0.01 } }],
      seeds: [1],
    });
    await expect(runComparison(otherConfig.options(dir))).rejects.toThrow(
      /different design or method config/,
    );
  });

  it("records per point the strata, gradient SNR, scoring time and SAGE's curriculum frontier", async () => {
    const h = harness(new World(), {
      methods: ["uniform", "sage"],
      seeds: [1],
      train: { beta: 0.5, learningRate: 0.05, gradientAccumulation: 2, gradSnrEvery: 1 },
    });
    const result = await runComparison(h.options(await tempDir()));
    for (const run of result.runs) {
      let prevWall = -1;
      for (const p of run.points) {
        expect(p.byStratum).toHaveLength(2);
        // the overall pass@1 is the problem-weighted mean of the strata (6 problems each)
        expect(p.accuracy).toBeCloseTo((p.byStratum![0]! + p.byStratum![1]!) / 2, 12);
        expect(p.wallMs).toBeGreaterThan(prevWall);
        prevWall = p.wallMs;
        if (p.step > 0) {
          expect(p.scoringMs).toBeLessThanOrEqual(p.wallMs);
          expect(p.snr).toBeGreaterThan(0);
        }
      }
    }
    const sage = result.runs.find((r) => r.method === "sage")!;
    expect(typeof sage.points.at(-1)!.frontier).toBe("number");
    expect(result.runs.find((r) => r.method === "uniform")!.points.at(-1)!.frontier).toBeUndefined();
    for (const d of result.details) expect(d.meanSnr).toBeGreaterThan(0);
  });

  it("--snr's methods measure the SNR through their own training config (withSnr), the shared one having none", async () => {
    const h = harness(new World(), {
      methods: SNR_METHODS.map(withSnr),
      seeds: [1],
      // SNR_TRAIN measures every 5 steps: steps 5 and 10
      steps: 10,
      evalSteps: [5, 10],
      train: { beta: 0.5, learningRate: 0.05 },
    });
    const result = await runComparison(h.options(await tempDir()));
    expect(result.runs.map((r) => r.method)).toEqual([...SNR_METHODS]);
    for (const d of result.details) expect(d.meanSnr, d.method).toBeGreaterThan(0);
    // the same methods without withSnr measure nothing
    const plain = await runComparison(
      harness(new World(), {
        methods: ["uniform"],
        seeds: [1],
        steps: 10,
        evalSteps: [5, 10],
        train: { beta: 0.5, learningRate: 0.05 },
      }).options(await tempDir()),
    );
    expect(plain.details[0]!.meanSnr).toBeNull();
  });

  it("runs labelled variants of one selector with their own configs as distinct series and folders", async () => {
    const dir = await tempDir();
    const made: { name: string; config: Record<string, unknown>; scored: Set<number> }[] = [];
    const h = harness(new World(), {
      methods: [
        { label: "sage:R1", selector: "sage", curriculum: { refreshEvery: 1 } },
        {
          label: "sage:R4-K1",
          selector: "sage",
          curriculum: { refreshEvery: 4, stability: { k: 1, alpha: 0 } },
        },
      ],
      seeds: [1],
      curriculum: { refreshEvery: 2, probeSize: 2, nStrata: 2, stability: { zMin: 0.25 } },
      selectorFactory: (name, config) => {
        const inner = curriculumSelector(name, config);
        const entry = { name, config: config as Record<string, unknown>, scored: new Set<number>() };
        made.push(entry);
        return {
          ...inner,
          init: (c) => inner.init(c),
          nextScoringRequest: (step) => {
            const r = inner.nextScoringRequest(step);
            if (r) entry.scored.add(step);
            return r;
          },
          receiveScores: (s) => inner.receiveScores(s),
          selectBatch: (step, n) => inner.selectBatch(step, n),
          observeTrained: (step, i, l) => inner.observeTrained(step, i, l),
          metrics: () => inner.metrics(),
          getState: () => inner.getState(),
          setState: (st) => inner.setState(st),
        };
      },
    });
    const result = await runComparison(h.options(dir));
    expect(result.runs.map((r) => [r.method, r.seed])).toEqual([
      ["sage:R1", 1],
      ["sage:R4-K1", 1],
    ]);
    expect(result.details.map((d) => d.runDir)).toEqual([
      join(dir, "sage_R1-s1"),
      join(dir, "sage_R4-K1-s1"),
    ]);
    // one warm-up selector per method, then one per run, in run order
    const [r1, r4] = made.slice(2);
    expect(r1!.config).toMatchObject({ refreshEvery: 1, probeSize: 2, stability: { zMin: 0.25 } });
    // a variant's stability is merged field by field over the shared one
    expect(r4!.config).toMatchObject({ refreshEvery: 4, stability: { zMin: 0.25, k: 1, alpha: 0 } });
    // the configs reached the selector: R = 1 scores its pool at every one of the 4 steps, R = 4 once
    expect(r1!.scored.size).toBe(4);
    expect(r4!.scored.size).toBe(1);
  });

  it("rejects bad options with typed errors before any run", async () => {
    const h = harness(new World(), { methods: ["uniform"], seeds: [1] });
    const base = h.options(await tempDir());
    await expect(runComparison({ ...base, evalSteps: [2, 3] })).rejects.toThrow(
      /evalSteps must be strictly increasing/,
    );
    await expect(runComparison({ ...base, seeds: [1, 1] })).rejects.toThrow(/distinct integers/);
    await expect(
      runComparison({ ...base, methods: ["uniform", { label: "uniform", selector: "sage" }] }),
    ).rejects.toThrow(/method labels must be distinct/);
    await expect(runComparison({ ...base, methods: [] })).rejects.toThrow(/at least one method/);
    await expect(runComparison({ ...base, methods: [{ label: "../x", selector: "sage" }] })).rejects.toThrow(
      /method labels must be non-empty, start with a letter or digit/,
    );
    await expect(
      runComparison({ ...base, methods: [{ label: "dpo", selector: "dpo" as unknown as "uniform" }] }),
    ).rejects.toThrow(/method dpo: selector must be one of sage, .*sft-chosen; received "dpo"/);
    expect(h.starts).toEqual([]);
    // the SFT control needs a policy that can do SFT
    const plain = {
      ...base,
      methods: ["sft-chosen" as const],
      warmupSteps: 0,
      startPolicy: () => {
        const p = new ClockedPolicy(new World());
        const { accumulateSequenceGradient: _omit, ...rest } = Object.fromEntries(
          [
            "sequenceLogProbs",
            "accumulateGradient",
            "applyGradients",
            "discardGradients",
            "fingerprint",
            "saveState",
            "loadState",
          ].map((k) => [k, (p as unknown as Record<string, (...a: unknown[]) => unknown>)[k]!.bind(p)]),
        ) as Record<string, unknown>;
        return { policy: rest as unknown as ComparisonPolicy };
      },
    };
    await expect(runComparison(plain)).rejects.toThrow(/needs a policy with accumulateSequenceGradient/);
  });
});

// WebGPU (lavapipe on a machine without a GPU); never skipped.
describe("webGpuComparisonPolicies", () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await createTestContext();
  });
  afterAll(() => ctx?.destroy());

  it("runs uniform and the SFT control from one WebGPU start policy, step 0 shared per seed", async () => {
    const { tokenizer, config } = tinyCharModel({ chars: BOXED_CHARS, maxPositionEmbeddings: 40 });
    const pairs: PreferencePair[] = boxedSumPairs();
    const probs: Problem[] = Array.from({ length: 4 }, (_, i) => ({
      id: `e${i}`,
      prompt: `${i}+${i}=`,
      answer: String(2 * i),
      level: i < 2 ? 1 : 2,
    }));
    let evaluations = 0;
    const gpu = webGpuComparisonPolicies({
      model: { config, weights: initWeights(config, 3), tokenizer },
      ctx,
      maxNewTokens: 6,
    });
    const result = await runComparison({
      pairs,
      problems: probs,
      ...gpu,
      evaluate: (policy, problems, at) => {
        evaluations++;
        return gpu.evaluate(policy, problems, at);
      },
      methods: ["uniform", "sft-chosen"],
      seeds: [7, 8],
      steps: 2,
      batchSize: 4,
      evalSteps: [1, 2],
      train: { beta: 0.5, learningRate: 0.01, scoringBatchSize: 16 },
      runDir: await tempDir(),
      log: () => {},
    });
    expect(result.order.map((r) => `${r.seed}:${r.method}`)).toEqual([
      "7:uniform",
      "7:sft-chosen",
      "8:sft-chosen",
      "8:uniform",
    ]);
    expect(evaluations).toBe(2 + 4 * 2);
    for (const run of result.runs) {
      expect(run.points.map((p) => p.step)).toEqual([0, 1, 2]);
      for (const p of run.points) {
        expect(p.accuracy).toBeGreaterThanOrEqual(0);
        expect(p.accuracy).toBeLessThanOrEqual(1);
        expect(p.byStratum).toHaveLength(2);
      }
    }
    const batches = (method: string, seed: number) =>
      result.details.find((d) => d.method === method && d.seed === seed)!.batches;
    expect(batches("sft-chosen", 7)).toEqual(batches("uniform", 7));
    expect(batches("sft-chosen", 8)).toEqual(batches("uniform", 8));
  });

  it("evalSampling: pass@1 from k seeded samples per problem; bad settings are typed errors", async () => {
    const { tokenizer, config } = tinyCharModel({ chars: BOXED_CHARS, maxPositionEmbeddings: 40 });
    const model = { config, weights: initWeights(config, 3), tokenizer };
    const probs: Problem[] = Array.from({ length: 4 }, (_, i) => ({
      id: `e${i}`,
      prompt: `${i}+${i}=`,
      answer: String(2 * i),
      level: i < 2 ? 1 : 2,
    }));
    const sampled = webGpuComparisonPolicies({
      model,
      ctx,
      maxNewTokens: 6,
      evalSampling: { samples: 2, temperature: 1 },
    });
    const handle = await sampled.startPolicy({ purpose: "initial" });
    try {
      const at = { seed: 7, step: 0, method: null };
      const r = await sampled.evaluate(handle.policy, probs, at);
      // the mean of 2 samples × 4 problems, per level of 2 problems × 2 samples
      expect(Number.isInteger(r["eval/pass@1"]! * 8)).toBe(true);
      expect(Number.isInteger(r["eval/pass@1/level_1"]! * 4)).toBe(true);
      // seeded by the comparison seed: the same draws at every evaluation of that seed
      expect(await sampled.evaluate(handle.policy, probs, at)).toEqual(r);
    } finally {
      await handle.destroy?.();
    }
    for (const evalSampling of [
      { samples: 0, temperature: 1 },
      { samples: 1.5, temperature: 1 },
      { samples: 2, temperature: -1 },
      { samples: 2, temperature: Number.POSITIVE_INFINITY },
    ]) {
      expect(() => webGpuComparisonPolicies({ model, ctx, evalSampling })).toThrow(
        /evalSampling must be \{ samples: integer ≥ 1, temperature: finite ≥ 0 \}/,
      );
    }
  });
});
