import { parseChainsQuestion, verifyChains } from "@sage/eval-math";
import { describe, expect, it } from "vitest";
import {
  CHAINS_GATE_PLAN,
  CHAINS_LENGTHS,
  CHAINS_QUICK_PLAN,
  CHAINS_SEEDS,
  chainsProblems,
  chainsSftExamples,
  chainsStepErrorRate,
  DEMO_PLANS,
  planEvalProblems,
  SFT_CHAINS_RECIPE,
  SFT_TINY_RECIPE,
  sftJsonl,
  sha256,
  TASKS,
  TrainerError,
  taskFamily,
  workCheckedGrade,
} from "../src/index.js";

// CPU only: the recipes' data are pinned by hash (the shipped checkpoints' READMEs give the same
// hashes), so a change to a generator, the teacher or the JSONL format is caught here.

describe("start-policy recipes", () => {
  it("reproduce the data hashes of the shipped checkpoints' READMEs", () => {
    const hashes = [...SFT_TINY_RECIPE.stages, ...SFT_CHAINS_RECIPE.stages].map((st) =>
      sha256(sftJsonl(st.examples())),
    );
    expect(hashes).toEqual([
      "780a7d988ed2315349779fa42656971e5302468cd381d161e47c68a5feac0dbd",
      "edee62aa2f499b3e2b6b80cbef55575617c3d228d5c696b0791b75d88f760e4b",
      "39fdef93abfc040b81c8a259a22b8b22065731172c34ca2537e3ba682ba1560d",
    ]);
    expect(SFT_CHAINS_RECIPE.from).toBe("sft-tiny");
  });

  it("chains SFT data: the teacher's step error rate rises with the chain length as documented", () => {
    expect(CHAINS_LENGTHS.map(chainsStepErrorRate).map((x) => Math.round(x * 100) / 100)).toEqual([
      0.1, 0.15, 0.2, 0.25, 0.3,
    ]);
    const perLength = 2000;
    const examples = chainsSftExamples(CHAINS_SEEDS.sft, CHAINS_LENGTHS, perLength);
    expect(examples).toHaveLength(5 * perLength);
    expect(new Set(examples.map((e) => e.id)).size).toBe(examples.length);
    for (const k of CHAINS_LENGTHS) {
      const ofK = examples.filter((e) => e.id.startsWith(`chains/k${k}/`));
      expect(ofK).toHaveLength(perLength);
      let right = 0;
      for (const e of ofK) {
        const chain = parseChainsQuestion(e.prompt);
        expect(chain?.chain).toHaveLength(k);
        const lines = e.completion.split("\n");
        expect(lines).toHaveLength(k + 1);
        expect(lines[k]).toMatch(/^\\boxed\{-?\d+\}$/);
        const v = verifyChains({ answer: "", ...chain! }, e.completion);
        if (v.workValid) right++;
      }
      // a solution is wholly right with probability (1 − rate)^k; binomial SD ≤ √(0.25/2000) ≈ 0.011,
      // so 0.04 is > 3.5 SD
      const expected = (1 - chainsStepErrorRate(k)) ** k;
      expect(Math.abs(right / perLength - expected), `k = ${k}`).toBeLessThan(0.04);
    }
  });

  it("the same arguments give byte-identical data; another seed gives other data", () => {
    const a = sftJsonl(chainsSftExamples(5, [1, 3], 20));
    expect(sftJsonl(chainsSftExamples(5, [1, 3], 20))).toBe(a);
    expect(sftJsonl(chainsSftExamples(6, [1, 3], 20))).not.toBe(a);
  });

  it("refuses chain lengths outside 1..6 with a typed error", () => {
    expect(() => chainsProblems(1, [0], 1)).toThrow(TrainerError);
    expect(() => chainsProblems(1, [7], 1)).toThrow(/chain lengths must be integers in 1\.\.6; received 7/);
    expect(() => chainsSftExamples(1, [], 1)).toThrow(/expected at least one/);
  });
});

describe("task presets and plans", () => {
  it("chains problems: one stratum per length, prompts the work-checked grader can parse", () => {
    const ps = chainsProblems(CHAINS_SEEDS.pairs, [2, 4], 3);
    expect(ps.map((p) => p.level)).toEqual([2, 2, 2, 4, 4, 4]);
    for (const p of ps) {
      expect(p.prompt).toMatch(/^q: .*\na: $/s);
      expect(parseChainsQuestion(p.prompt)?.chain).toHaveLength(p.level!);
      expect(workCheckedGrade(`\\boxed{${p.answer}}`, p.answer, p)).toBe(false); // no work
    }
  });

  it("the gate plan meets the gate's sizes; the tuning split differs from the reported split", () => {
    const pool = CHAINS_GATE_PLAN.pairProblemsPerLevel * CHAINS_GATE_PLAN.levels.length;
    expect(pool).toBe(1000);
    // ≥ 2,400 pairs need ≥ 2.4 pairs per pool problem at ≤ maxPairsPerPrompt each
    expect(CHAINS_GATE_PLAN.maxPairsPerPrompt * pool).toBeGreaterThanOrEqual(2400);
    const tuning = planEvalProblems(CHAINS_GATE_PLAN, { tuning: true });
    const reported = planEvalProblems(CHAINS_GATE_PLAN);
    expect(tuning.length).toBeGreaterThanOrEqual(150);
    expect(new Set(tuning.map((p) => p.level))).toEqual(new Set(CHAINS_LENGTHS));
    const reportedIds = new Set(reported.map((p) => p.id));
    expect(tuning.some((p) => reportedIds.has(p.id))).toBe(false);
    expect(CHAINS_GATE_PLAN.steps).toBe(150);
    expect(CHAINS_GATE_PLAN.train.batchSize).toBe(8);
    expect(CHAINS_QUICK_PLAN.steps).toBeLessThan(DEMO_PLANS.chains[0].steps);
  });

  it("task families by name; an unknown name is a typed error listing the names", () => {
    expect(taskFamily("chains")).toBe(TASKS.chains);
    expect(TASKS.chains.stratumLabel(3)).toBe("k = 3");
    expect(TASKS.synthetic.checkpoint).toBe("sft-tiny");
    expect(() => taskFamily("gsm8k")).toThrow(/task must be one of synthetic, chains; received "gsm8k"/);
  });
});
