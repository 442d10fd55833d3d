import { join } from "node:path";
import { SELECTOR_NAMES } from "@sage/curriculum";
import { describe, expect, it } from "vitest";
import { curriculumSelector, type MetricsRecord, readMetrics, runDpo, StopController } from "../src/index.js";
import { synthPairs, tempDir } from "./helpers/data.js";
import { ToyPolicy } from "./helpers/toy-policy.js";

const quiet = () => {};
const CONFIG = { batchSize: 8, beta: 0.5, learningRate: 0.05, seed: 4, checkpointEvery: 5, steps: 24 };
const SEL = { refreshEvery: 5, probeSize: 8 };

function deterministic(records: MetricsRecord[]): MetricsRecord[] {
  return records.map((r) =>
    Object.fromEntries(
      Object.entries(r).filter(([k]) => !k.startsWith("time/") && k !== "sage/scoring_time_share"),
    ),
  ) as MetricsRecord[];
}

describe("curriculumSelector (the @sage/curriculum selectors in the DPO loop)", () => {
  it("sage: scoring passes with token dropout, SAGE metrics, bit-for-bit resume", async () => {
    const dir = await tempDir();
    const pairs = synthPairs(160);
    const policy = new ToyPolicy({ dim: 16 });
    const straight = await runDpo({
      config: CONFIG,
      policy,
      selector: curriculumSelector("sage", SEL),
      pairs,
      runDir: join(dir, "a"),
      log: quiet,
    });
    expect(straight.status).toBe("completed");
    // reference pass (160) + probes and pools at refreshes; more than the reference alone
    expect(policy.calls.scoredPairs).toBeGreaterThan(160 + 80);
    const m = await readMetrics(straight.metricsPath);
    const last = m.at(-1)!;
    for (const key of [
      "sage/frontier",
      "sage/pool_size",
      "sage/filtered_trivial",
      "sage/score_median",
      "sage/competence",
    ]) {
      expect(Number.isFinite(last[key]), key).toBe(true);
    }
    expect(m[0]!["sage/refresh"]).toBe(1);
    // every R = 5 steps (0, 5, …, 20), plus early ones when fewer than B eligible pairs remain
    expect(last["sage/refresh"]).toBeGreaterThanOrEqual(5);

    const stop = new StopController();
    await runDpo({
      config: CONFIG,
      policy: new ToyPolicy({ dim: 16 }),
      selector: curriculumSelector("sage", SEL),
      pairs,
      runDir: join(dir, "b"),
      stop,
      onStep: (r) => {
        if (r.step === 13) stop.request("test");
      },
      log: quiet,
    });
    const resumed = new ToyPolicy({ dim: 16, seed: 77 });
    const r2 = await runDpo({
      config: CONFIG,
      policy: resumed,
      selector: curriculumSelector("sage", SEL),
      pairs,
      runDir: join(dir, "b"),
      resume: true,
      log: quiet,
    });
    expect(r2.resumedFrom).toBe(13);
    expect(deterministic(await readMetrics(r2.metricsPath))).toEqual(deterministic(m));
    expect(Array.from(resumed.theta)).toEqual(Array.from(policy.theta));
  });

  it.each(SELECTOR_NAMES)("%s runs through the loop", async (name) => {
    const r = await runDpo({
      config: { ...CONFIG, steps: 6 },
      policy: new ToyPolicy(),
      selector: curriculumSelector(name, SEL),
      pairs: synthPairs(80),
      runDir: await tempDir(),
      log: quiet,
    });
    expect(r.status).toBe("completed");
    const m = await readMetrics(r.metricsPath);
    expect(m.map((x) => x.batch_size)).toEqual([8, 8, 8, 8, 8, 8]);
  });

  it("refuses a batch size or beta set differently from the trainer's", async () => {
    const run = (sel: object) =>
      runDpo({
        config: { ...CONFIG, steps: 2 },
        policy: new ToyPolicy(),
        selector: curriculumSelector("sage", sel),
        pairs: synthPairs(40),
        runDir: join(dir, String(Math.random())),
        log: quiet,
      });
    const dir = await tempDir();
    await expect(run({ batchSize: 4 })).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      message: expect.stringContaining('"batchSize"'),
    });
    await expect(run({ stability: { beta: 0.1 } })).rejects.toMatchObject({ code: "CONFIG_INVALID" });
  });
});
