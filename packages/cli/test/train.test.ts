import { spawn } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { initWeights, loadModelDir, saveModelDir } from "@sage/model";
import { tinyCharModel } from "@sage/model/testing";
import {
  type PreferencePair,
  Rng,
  readMetrics,
  readPreferencePairs,
  TRL_METRIC_NAMES,
  writePreferencePairs,
} from "@sage/trainer";
import { beforeAll, describe, expect, it } from "vitest";
import { run, tinyModelFolder } from "./helpers.js";

// Runs on the WebGPU adapter Dawn finds (lavapipe on a machine without a GPU); never skipped.

const { config } = tinyCharModel();
const { dir, modelDir } = tinyModelFolder("sage-cli-train-");
let pairsPath: string;
let configPath: string;

beforeAll(async () => {
  const rng = new Rng(3);
  const pairs: PreferencePair[] = Array.from({ length: 24 }, (_, i) => {
    const a = rng.int(10);
    const b = rng.int(10);
    return {
      id: `q${i}`,
      prompt: `${a}+${b}=`,
      chosen: String(a + b),
      rejected: String((a + b + 1 + rng.int(8)) % 19),
      difficulty: (a + b) / 18,
    };
  });
  pairsPath = join(dir, "pairs.jsonl");
  await writePreferencePairs(pairsPath, pairs);
  configPath = join(dir, "train.yaml");
  await writeFile(
    configPath,
    [
      "selector: sage",
      "train: { batchSize: 4, beta: 0.5, learningRate: 0.01, checkpointEvery: 2, scoringBatchSize: 16 }",
      "curriculum: { refreshEvery: 2, probeSize: 2, nStrata: 2 }",
      "",
    ].join("\n"),
  );
});

/** `sage train` on the shared pairs, model and config, into `runDir`, without a progress bar. */
function trainArgs(runDir: string): string[] {
  return [
    "train",
    "--pairs",
    pairsPath,
    "--model",
    modelDir,
    "--run-dir",
    runDir,
    "--config",
    configPath,
    "--no-progress",
  ];
}

describe("sage train", () => {
  it("trains on the WebGPU policy, resumes with more steps, and saves a loadable model", async () => {
    const runDir = join(dir, "run");
    const base = trainArgs(runDir);
    // Kept to 2 + 1 steps: each `sage train` process compiles its pipelines from a cold shader cache
    // on CI, which dominates this test; 2 steps still cross a refresh and a checkpoint (every 2).
    const first = await run([...base, "--steps", "2"]);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toContain("completed at step 2");
    expect(first.out).toContain("reference log-probs: computed");
    expect(first.err).toMatch(/adapter: /);
    const saved = join(dir, "trained");
    const second = await run([...base, "--steps", "3", "--resume", "--save-model", saved]);
    expect(second.code, second.err).toBe(0);
    expect(second.out).toContain("completed at step 3 (resumed from 2)");
    expect(second.out).toContain("reference log-probs: cache");
    const m = (await readMetrics(join(runDir, "metrics.jsonl"))).filter((r) => r.event === "train");
    expect(m.map((r) => r.step)).toEqual([1, 2, 3]);
    for (const r of m) for (const name of TRL_METRIC_NAMES) expect(Number.isFinite(r[name]), name).toBe(true);
    const trained = loadModelDir(saved);
    expect(trained.tokenizer).toBeDefined();
    const before = loadModelDir(modelDir).weights.embed;
    expect(Array.from(trained.weights.embed)).not.toEqual(Array.from(before));
  });

  it("rejects bad config fields, a missing step count and a model folder without tokenizer", async () => {
    const bad = join(dir, "bad.yaml");
    await writeFile(bad, "train: { batchSize: 0 }\n");
    const base = [
      "train",
      "--pairs",
      pairsPath,
      "--model",
      modelDir,
      "--run-dir",
      join(dir, "x"),
      "--no-progress",
    ];
    const r1 = await run([...base, "--config", bad, "--steps", "2"]);
    expect(r1.code).toBe(2);
    expect(r1.err).toContain('bad.yaml: field "train.batchSize"');
    const r2 = await run(base);
    expect(r2.code).toBe(2);
    expect(r2.err).toContain("--steps");
    const noTok = join(dir, "no-tokenizer");
    saveModelDir(noTok, config, initWeights(config, 1));
    const r3 = await run([
      "train",
      "--pairs",
      pairsPath,
      "--model",
      noTok,
      "--run-dir",
      join(dir, "y"),
      "--steps",
      "1",
    ]);
    expect(r3.code).toBe(2);
    expect(r3.err).toContain("tokenizer.json");
    await rm(join(dir, "x"), { recursive: true, force: true });
  });
});

describe("sage pairs", () => {
  it("samples on-policy pairs on WebGPU, and sage train trains on them", async () => {
    const problems = join(dir, "problems.jsonl");
    await writeFile(
      problems,
      Array.from({ length: 8 }, (_, i) =>
        JSON.stringify({ id: `p${i}`, question: `${i}+1=`, answer: i + 1, level: 1 + (i % 3) }),
      ).join("\n"),
    );
    const out = join(dir, "onpolicy.jsonl");
    const r = await run([
      "pairs",
      "--problems",
      problems,
      "--model",
      modelDir,
      "--out",
      out,
      "--n",
      "12",
      "--max-new-tokens",
      "1",
      "--seed",
      "3",
      "--no-progress",
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^\d+ pairs from \d+ of 8 problems \(96 samples\)/);
    const { pairs } = await readPreferencePairs(out);
    expect(pairs.length).toBeGreaterThan(1);
    const stats = JSON.parse(await readFile(`${out}.stats.json`, "utf8")) as {
      passRates: Record<string, number>;
    };
    expect(Object.keys(stats.passRates)).toHaveLength(8);
    for (const p of pairs) expect(p.difficulty).toBe(1 - stats.passRates[p.id.split("#")[0]!]!);

    const cfg = join(dir, "small.yaml");
    await writeFile(cfg, "train: { batchSize: 2, beta: 0.5, learningRate: 0.01, checkpointEvery: 1 }\n");
    const evalRun = join(dir, "onpolicy-run");
    const t = await run([
      "train",
      "--pairs",
      out,
      "--model",
      modelDir,
      "--run-dir",
      evalRun,
      "--config",
      cfg,
      "--selector",
      "uniform",
      "--steps",
      "2",
      "--eval-problems",
      problems,
      "--eval-every",
      "1",
      "--no-progress",
    ]);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toContain("completed at step 2");
    const evals = (await readMetrics(join(evalRun, "metrics.jsonl"))).filter((r) => r.event === "eval");
    expect(evals.map((e) => e.step)).toEqual([1, 2]);
    for (const e of evals) {
      expect(e["eval/problems"]).toBe(8);
      for (const key of [
        "eval/pass@1",
        "eval/pass@1/level_1",
        "eval/pass@1/level_2",
        "eval/pass@1/level_3",
      ]) {
        expect(e[key] as number).toBeGreaterThanOrEqual(0);
        expect(e[key] as number).toBeLessThanOrEqual(1);
      }
    }
  });

  it("rejects a bad config field and a bad problems line", async () => {
    const cfg = join(dir, "pairs-bad.yaml");
    await writeFile(cfg, "n: 0\n"); // n ≥ 1 (1 = one greedy answer per problem)
    const problems = join(dir, "problems2.jsonl");
    await writeFile(problems, `${JSON.stringify({ id: "a", prompt: "1+1=", answer: 2 })}\n`);
    const pairs = (...extra: string[]) =>
      run(["pairs", "--problems", problems, "--model", modelDir, "--out", join(dir, "x.jsonl"), ...extra]);
    const r1 = await pairs("--config", cfg);
    expect(r1.code).toBe(2);
    expect(r1.err).toContain('pairs-bad.yaml: field "n"');
    await writeFile(problems, `${JSON.stringify({ id: "a", prompt: "1+1=" })}\n`);
    const r2 = await pairs();
    expect(r2.code).toBe(2);
    expect(r2.err).toContain('problems2.jsonl:1: field "answer"');
  });
});

describe("sage sft", () => {
  it("fine-tunes on completions, resumes, rejects a bad config field, and saves a loadable model", async () => {
    const data = join(dir, "sft.jsonl");
    await writeFile(
      data,
      Array.from({ length: 12 }, (_, i) =>
        JSON.stringify({ prompt: `${i % 10}+1=`, completion: String((i % 10) + 1) }),
      ).join("\n"),
    );
    const cfg = join(dir, "sft.yaml");
    await writeFile(cfg, "train: { batchSize: 4, learningRate: 0.03, checkpointEvery: 1 }\n");
    const runDir = join(dir, "sft-run");
    const base = [
      "sft",
      "--data",
      data,
      "--model",
      modelDir,
      "--run-dir",
      runDir,
      "--config",
      cfg,
      "--no-progress",
    ];
    const first = await run([...base, "--steps", "3"]);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toContain("completed at step 3");
    const saved = join(dir, "sft-model");
    const second = await run([...base, "--steps", "5", "--resume", "--save-model", saved]);
    expect(second.code, second.err).toBe(0);
    expect(second.out).toContain("completed at step 5 (resumed from 3)");
    const m = (await readMetrics(join(runDir, "metrics.jsonl"))).filter((r) => r.event === "train");
    expect(m.map((r) => r.step)).toEqual([1, 2, 3, 4, 5]);
    expect(loadModelDir(saved).tokenizer).toBeDefined();
    const bad = join(dir, "sft-bad.yaml");
    await writeFile(bad, "train: { learningRate: -1 }\n");
    const r3 = await run([...base.slice(0, 7), "--config", bad, "--steps", "1"]);
    expect(r3.code).toBe(2);
    expect(r3.err).toContain('sft-bad.yaml: field "train.learningRate"');
  });
});

describe("sage train and signals", () => {
  it("SIGTERM writes a checkpoint and exits 143; --resume finishes the run", async () => {
    const runDir = join(dir, "signal-run");
    const bin = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "sage.js");
    const args = trainArgs(runDir);
    const child = spawn(
      process.execPath,
      ["--conditions=@sage/source", "--import", "tsx", bin, ...args, "--steps", "400"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += String(d)));
    child.stderr.on("data", (d) => (stderr += String(d)));
    let exitCode: number | null | undefined;
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => {
        exitCode = code;
        resolve(code);
      }),
    );
    // Poll until step 2 is in the metrics; a child that exits first fails the test at once, and the
    // test timeout bounds a hang. No clock is read.
    for (;;) {
      const m = await readMetrics(join(runDir, "metrics.jsonl"), {
        allowMissing: true,
        allowTornTail: true,
      }).catch(() => []);
      if (m.some((r) => r.step >= 2)) break;
      if (exitCode !== undefined) throw new Error(`sage train exited (${exitCode}) before step 2: ${stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill("SIGTERM");
    expect(await exited, stderr).toBe(143);
    expect(stderr).toContain("received SIGTERM");
    const stoppedAt = Number(/interrupted at step (\d+)/.exec(stdout)?.[1]);
    expect(stoppedAt).toBeGreaterThanOrEqual(2);
    expect(stoppedAt).toBeLessThan(400);
    const resumed = await run([...args, "--steps", String(stoppedAt + 2), "--resume"]);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.out).toContain(`completed at step ${stoppedAt + 2} (resumed from ${stoppedAt})`);
  });
});
