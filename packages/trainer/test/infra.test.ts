import { appendFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  createProgress,
  exitCodeForSignal,
  MetricsLogger,
  RefLogProbCache,
  Rng,
  readMetrics,
  StopController,
  sha256,
} from "../src/index.js";
import { tempDir } from "./helpers/data.js";

describe("Rng", () => {
  it("is deterministic per seed, resumes exactly from saved state, and is uniform enough", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.next())).not.toEqual(xs);
    const state = a.getState();
    const next = Array.from({ length: 10 }, () => a.nextU32());
    const restored = Rng.fromState(JSON.parse(JSON.stringify(state)));
    expect(Array.from({ length: 10 }, () => restored.nextU32())).toEqual(next);
    // mean of 20k uniforms: sd of the mean = 1/sqrt(12·20000) ≈ 0.002; 5 sd tolerance.
    const r = new Rng(1);
    let s = 0;
    for (let i = 0; i < 20_000; i++) s += r.next();
    expect(Math.abs(s / 20_000 - 0.5)).toBeLessThan(0.01);
    expect(() => r.setState({ algorithm: "xoshiro128**", s: [0, 0, 0, 0] })).toThrow(
      /RNG_STATE_INVALID|not all 0/,
    );
  });
  it("shuffle is a permutation", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 50 }), (seed, n) => {
        const xs = Array.from({ length: n }, (_, i) => i);
        const ys = new Rng(seed).shuffle([...xs]);
        expect([...ys].sort((p, q) => p - q)).toEqual(xs);
      }),
    );
  });
});

describe("MetricsLogger", () => {
  it("appends lines; resume keeps steps ≤ the checkpoint and drops a torn tail", async () => {
    const path = join(await tempDir(), "metrics.jsonl");
    const log = await MetricsLogger.open(path);
    for (let step = 1; step <= 5; step++) await log.log({ event: "train", step, loss: 1 / step });
    await log.close();
    await appendFile(path, '{"event":"train","st');
    await expect(readMetrics(path)).rejects.toThrow(/bad metrics line/);
    const resumed = await MetricsLogger.open(path, { resumeStep: 3 });
    await resumed.log({ event: "train", step: 4, loss: 9 });
    await resumed.close();
    expect((await readMetrics(path)).map((r) => [r.step, r.loss])).toEqual([
      [1, 1],
      [2, 0.5],
      [3, 1 / 3],
      [4, 9],
    ]);
  });
  it("refuses a corrupt line that is not the last", async () => {
    const path = join(await tempDir(), "m.jsonl");
    await writeFile(path, '{"event":"train","step":1}\nnot json\n{"event":"train","step":2}\n');
    await expect(MetricsLogger.open(path, { resumeStep: 5 })).rejects.toThrow(/m.jsonl:2/);
  });
});

describe("RefLogProbCache", () => {
  it("computes once, then hits, keyed by (model, data) with exact float64 values", async () => {
    const cache = new RefLogProbCache(await tempDir());
    const model = sha256("model");
    const data = sha256("data");
    const chosen = Float64Array.from([-1.2345678901234567, -1e-300, -5e-324]);
    const rejected = Float64Array.from([-3, -0.1 - 0.2, -123456.789]);
    let computed = 0;
    const compute = async () => {
      computed++;
      return { chosen, rejected };
    };
    const first = await cache.getOrCompute(model, data, ["a", "b", "c"], compute);
    const second = await cache.getOrCompute(model, data, ["a", "b", "c"], compute);
    expect([first.hit, second.hit, computed]).toEqual([false, true, 1]);
    expect(Array.from(second.ref.chosen)).toEqual(Array.from(chosen));
    expect(Array.from(second.ref.rejected)).toEqual(Array.from(rejected));
    expect(await cache.get(sha256("other model"), data)).toBeUndefined();
    await expect(cache.getOrCompute(model, data, ["a", "b", "x"], compute)).rejects.toMatchObject({
      code: "REF_CACHE_INVALID",
    });
    await expect(
      cache.put(model, data, { ids: ["a"], chosen: Float64Array.of(0.5), rejected: Float64Array.of(-1) }),
    ).rejects.toMatchObject({
      code: "REF_CACHE_INVALID",
    });
    const path = cache.pathFor(model, data);
    await writeFile(path, (await readFile(path, "utf8")).replace('"formatVersion": 1', '"formatVersion": 2'));
    await expect(cache.get(model, data)).rejects.toThrow(/formatVersion/);
  });
});

describe("StopController", () => {
  it("turns the first SIGTERM into a stop request and removes its listeners", () => {
    const lines: string[] = [];
    const before = process.listenerCount("SIGTERM");
    const stop = new StopController().install((l) => lines.push(l));
    expect(process.listenerCount("SIGTERM")).toBe(before + 1);
    expect(stop.requested).toBe(false);
    process.emit("SIGTERM", "SIGTERM");
    expect(stop.requested).toBe(true);
    expect(stop.signal).toBe("SIGTERM");
    expect(lines[0]).toMatch(/checkpoint/);
    stop.dispose();
    expect(process.listenerCount("SIGTERM")).toBe(before);
    expect([exitCodeForSignal("SIGINT"), exitCodeForSignal("SIGTERM")]).toEqual([130, 143]);
  });
});

describe("createProgress", () => {
  it("draws a bar with an ETA and live values when forced, and nothing on a non-TTY otherwise", async () => {
    const stream = new PassThrough();
    let out = "";
    stream.on("data", (d) => (out += String(d)));
    const bar = createProgress({ total: 10, stream, force: true, label: "dpo test" });
    bar.update(5, { loss: 0.5 });
    bar.stop();
    expect(out).toContain("dpo test");
    expect(out).toContain("ETA");
    expect(out).toContain("5/10");
    const quiet = new PassThrough();
    let q = "";
    quiet.on("data", (d) => (q += String(d)));
    const silent = createProgress({ total: 10, stream: quiet });
    silent.update(3);
    silent.stop();
    expect(q).toBe("");
  });
});
