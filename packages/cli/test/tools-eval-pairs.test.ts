import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generateChains } from "@sage/eval-math";
import { loadModelDir } from "@sage/model";
import { type PreferencePair, Rng, readMetrics, writePreferencePairs } from "@sage/trainer";
import { beforeAll, describe, expect, it } from "vitest";
import { gradeOneAnswerEach, pairGrader } from "../src/commands/pairs.js";
import { run, tinyModelFolder } from "./helpers.js";

// The experiment tools of `sage train` (sampled pass@1, models saved at evaluations) and `sage pairs`
// (--grader, --n 1). GPU tests run on the WebGPU adapter Dawn finds (lavapipe without a GPU); never
// skipped. The model is a 16-hidden one-layer char model, so each CLI run is a few seconds.

const { dir, modelDir } = tinyModelFolder("sage-cli-tools-");
let pairsPath: string;
let problemsPath: string;
let cfgPath: string;

beforeAll(async () => {
  const rng = new Rng(5);
  const pairs: PreferencePair[] = Array.from({ length: 16 }, (_, i) => {
    const a = rng.int(10);
    const b = rng.int(10);
    return { id: `q${i}`, prompt: `${a}+${b}=`, chosen: String(a + b), rejected: String((a + b + 3) % 19) };
  });
  pairsPath = join(dir, "pairs.jsonl");
  await writePreferencePairs(pairsPath, pairs);
  problemsPath = join(dir, "problems.jsonl");
  await writeFile(
    problemsPath,
    Array.from({ length: 6 }, (_, i) =>
      JSON.stringify({ id: `p${i}`, question: `${i}+1=`, answer: i + 1, level: 1 + (i % 2) }),
    ).join("\n"),
  );
  cfgPath = join(dir, "train.yaml");
  await writeFile(cfgPath, "train: { batchSize: 2, beta: 0.5, learningRate: 0.01, checkpointEvery: 2 }\n");
});

function trainArgs(runDir: string, extra: string[]): string[] {
  return [
    "train",
    "--pairs",
    pairsPath,
    "--model",
    modelDir,
    "--run-dir",
    runDir,
    "--config",
    cfgPath,
    "--selector",
    "uniform",
    "--steps",
    "2",
    "--eval-problems",
    problemsPath,
    "--eval-every",
    "1",
    "--no-progress",
    ...extra,
  ];
}

describe("sage train: sampled pass@1 and models at evaluation points", () => {
  it("logs sampled pass@1 beside greedy, and saves the model at every evaluation", async () => {
    const runDir = join(dir, "sampled");
    const finalDir = join(dir, "final");
    const r = await run(
      trainArgs(runDir, [
        "--eval-samples",
        "3",
        "--eval-temperature",
        "1",
        "--save-eval-models",
        "--save-model",
        finalDir,
      ]),
    );
    expect(r.code, r.err).toBe(0);
    const evals = (await readMetrics(join(runDir, "metrics.jsonl"))).filter((e) => e.event === "eval");
    expect(evals.map((e) => e.step)).toEqual([1, 2]);
    for (const e of evals) {
      expect(e["eval/sampled/samples"]).toBe(3);
      expect(e["eval/sampled/temperature"]).toBe(1);
      for (const key of [
        "eval/pass@1",
        "eval/pass@1/level_1",
        "eval/sampled/pass@1",
        "eval/sampled/pass@1/level_1",
        "eval/sampled/pass@1/level_2",
      ]) {
        const x = e[key] as number;
        expect(x, key).toBeGreaterThanOrEqual(0);
        expect(x, key).toBeLessThanOrEqual(1);
        // 3 draws of 6 problems (3 per level): a multiple of 1/18 (of 1/9 per level)
        if (key.startsWith("eval/sampled")) {
          const denom = key.endsWith("pass@1") ? 18 : 9;
          expect(Math.abs(x * denom - Math.round(x * denom)), key).toBeLessThan(1e-9);
        }
      }
    }
    // models at steps 1 and 2: loadable; step 1 differs from the start, step 2 is the final model
    const start = loadModelDir(modelDir);
    const step1 = loadModelDir(join(runDir, "models", "step-1"));
    const step2 = loadModelDir(join(runDir, "models", "step-2"));
    const final = loadModelDir(finalDir);
    expect(step1.tokenizer).toBeDefined();
    expect(Array.from(step1.weights.embed)).not.toEqual(Array.from(start.weights.embed));
    expect(Array.from(step2.weights.embed)).toEqual(Array.from(final.weights.embed));
    expect(Array.from(step2.weights.embed)).not.toEqual(Array.from(step1.weights.embed));
  });

  it("refuses the evaluation flags without --eval-problems, and a negative temperature", async () => {
    for (const flags of [["--eval-samples", "2"], ["--eval-temperature", "1"], ["--save-eval-models"]]) {
      const r = await run([
        "train",
        "--pairs",
        pairsPath,
        "--model",
        modelDir,
        "--run-dir",
        join(dir, "bad"),
        "--steps",
        "1",
        "--no-progress",
        ...flags,
      ]);
      expect(r.code, flags[0]).toBe(2);
      expect(r.err).toContain(`${flags[0]} needs --eval-problems <file> and --eval-every <n>`);
    }
    const neg = await run(trainArgs(join(dir, "neg"), ["--eval-samples", "2", "--eval-temperature", "-1"]));
    expect(neg.code).toBe(2);
    expect(neg.err).toContain("--eval-temperature must be a finite number ≥ 0");
  });
});

describe("sage pairs: --grader and --n 1", () => {
  const [chain] = generateChains({ seed: 7, steps: 2, count: 1 });
  const chainProblem = { id: "c", prompt: `q: ${chain!.question}\na: `, answer: chain!.answer };
  // the right answer through a wrong first step (the second step compensates)
  const first = chain!.chain[0]!;
  const second = chain!.chain[1]!;
  const apply = (a: number, op: string, b: number) => (op === "+" ? a + b : a - b);
  const wrongMid = apply(chain!.start, first.op, first.operand) + 1;
  const lucky = `${chain!.start}${first.op}${first.operand}=${wrongMid}\n${wrongMid}${second.op}${second.operand}=${chain!.answer}\n\\boxed{${chain!.answer}}`;

  it("auto checks the work of chain questions and only the answer elsewhere; work and answer are explicit", () => {
    const auto = pairGrader("auto");
    expect(auto(chain!.solution, chain!.answer, chainProblem)).toBe(true);
    expect(auto(lucky, chain!.answer, chainProblem)).toBe(false);
    expect(pairGrader("answer")(lucky, chain!.answer, chainProblem)).toBe(true);
    expect(pairGrader("work")(lucky, chain!.answer, chainProblem)).toBe(false);
    // not a chain question: the answer decides under auto, the (absent) work fails under work
    const plain = { id: "g", prompt: "what is six times seven?", answer: "42" };
    expect(auto("\\boxed{42}", "42", plain)).toBe(true);
    expect(pairGrader("work")("\\boxed{42}", "42", plain)).toBe(false);
  });

  it("gradeOneAnswerEach grades draw 0 of every problem and reports the pass rate", async () => {
    const problems = [0, 1, 2, 3, 4].map((i) => ({ id: `p${i}`, prompt: `${i}`, answer: String(i) }));
    const calls: number[] = [];
    const result = await gradeOneAnswerEach({
      problems,
      // right for even prompts only
      sample: async (prompts, j) => {
        calls.push(j);
        return prompts.map((p) => `\\boxed{${Number(p) % 2 === 0 ? p : Number(p) + 1}}`);
      },
      grade: pairGrader("answer"),
      batchSize: 2,
    });
    expect(calls).toEqual([0, 0, 0]);
    expect(result.pairs).toEqual([]);
    expect(result.passRates).toEqual({ p0: 1, p1: 0, p2: 1, p3: 0, p4: 1 });
    expect(result.stats).toMatchObject({
      problems: 5,
      samples: 5,
      meanPassRate: 0.6,
      allCorrect: 3,
      allWrong: 2,
    });
  });

  it("--n 1 writes greedy pass rates and no pairs, the same on every run; a bad --grader exits 2", async () => {
    const outs: string[] = [];
    for (const name of ["a", "b"]) {
      const out = join(dir, `greedy-${name}.jsonl`);
      const r = await run([
        "pairs",
        "--problems",
        problemsPath,
        "--model",
        modelDir,
        "--out",
        out,
        "--n",
        "1",
        "--max-new-tokens",
        "2",
        "--seed",
        name === "a" ? "1" : "2",
        "--no-progress",
      ]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/^0 pairs from 0 of 6 problems \(6 samples\)/);
      expect(await readFile(out, "utf8")).toBe("");
      outs.push(await readFile(`${out}.stats.json`, "utf8"));
    }
    // greedy decoding ignores the sampling seed
    const [a, b] = outs.map(
      (t) => JSON.parse(t) as { passRates: Record<string, number>; stats: { meanPassRate: number } },
    );
    expect(a!.passRates).toEqual(b!.passRates);
    expect(Object.keys(a!.passRates)).toHaveLength(6);
    const rates = Object.values(a!.passRates);
    for (const x of rates) expect([0, 1]).toContain(x);
    expect(a!.stats.meanPassRate).toBeCloseTo(rates.reduce((s, x) => s + x, 0) / 6, 12);
    const bad = await run([
      "pairs",
      "--problems",
      problemsPath,
      "--model",
      modelDir,
      "--out",
      join(dir, "x.jsonl"),
      "--grader",
      "vibes",
      "--no-progress",
    ]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--grader must be one of auto, work, answer; received "vibes"');
  });
});
