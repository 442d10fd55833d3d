import {
  CHAINS_MAX_STEPS,
  generateChains,
  generateSynthetic,
  seededRandom,
  teacherSolution,
} from "@sage/eval-math";
import { describeValue, TrainerError } from "./errors.js";
import type { Problem } from "./pairs.js";
import type { SftConfigInput, SftExample } from "./sft.js";

// ───────────────────────────── prompts and problems ─────────────────────────────

/** How a synthetic or chain question becomes a prompt (the shipped checkpoints were trained on this). */
export function syntheticPrompt(question: string): string {
  return `q: ${question}\na: `;
}

/** Generator seeds of the data splits: SFT data, the pair pool's problems and the held-out problems never overlap. */
export const SYNTHETIC_SEEDS = { sft: 1000, pairs: 2000, eval: 3000 } as const;

/**
 * Generator seeds of the chains regime. `eval` holds the report's held-out problems; `tuningEval`
 * holds the problems the gate and any tuning are measured on, so that no setting is chosen on the
 * problems the report is measured on.
 */
export const CHAINS_SEEDS = { sft: 1000, pairs: 2000, eval: 3000, tuningEval: 3100 } as const;

/** Held-out or training synthetic problems: `perLevel` of each level, from generator seed `seed`. */
export function syntheticProblems(seed: number, levels: readonly number[], perLevel: number): Problem[] {
  return levels.flatMap((level) =>
    generateSynthetic({ seed, level: level as 1 | 2 | 3 | 4 | 5, count: perLevel }).map((p) => ({
      id: p.id,
      prompt: syntheticPrompt(p.question),
      answer: p.answer,
      level,
    })),
  );
}

/** SFT examples: the (exact) worked solutions of `perLevel` synthetic problems per level. */
export function syntheticSftExamples(
  seed: number,
  levels: readonly number[],
  perLevel: number,
): SftExample[] {
  return levels.flatMap((level) =>
    generateSynthetic({ seed, level: level as 1 | 2 | 3 | 4 | 5, count: perLevel }).map((p) => ({
      id: p.id,
      prompt: syntheticPrompt(p.question),
      completion: p.solution,
    })),
  );
}

function checkLengths(lengths: readonly number[]): void {
  if (lengths.length === 0)
    throw new TrainerError("CONFIG_INVALID", "chain lengths: expected at least one; received []");
  for (const k of lengths) {
    if (!Number.isInteger(k) || k < 1 || k > CHAINS_MAX_STEPS) {
      throw new TrainerError(
        "CONFIG_INVALID",
        `chain lengths must be integers in 1..${CHAINS_MAX_STEPS}; received ${describeValue(k)}`,
      );
    }
  }
}

/** Chain problems (`generateChains`): `perLength` of each chain length, `level` = the length (the stratum). */
export function chainsProblems(seed: number, lengths: readonly number[], perLength: number): Problem[] {
  checkLengths(lengths);
  return lengths.flatMap((k) =>
    generateChains({ seed, steps: k, count: perLength }).map((p) => ({
      id: p.id,
      prompt: syntheticPrompt(p.question),
      answer: p.answer,
      level: k,
    })),
  );
}

/**
 * The noisy teacher's per-step error rate for a chain of `k` steps in the chains recipe:
 * `0.10 + 0.05·(k − 1)`, so the teacher's own pass rate `(1 − rate)^k` runs 90, 72, 51, 32, 17%
 * for k = 1..5 — a smooth ladder from a mostly solved stratum to a mostly failed one (longer
 * chains are where a teacher slips more, as a model does).
 */
export function chainsStepErrorRate(k: number): number {
  return 0.1 + 0.05 * (k - 1);
}

/**
 * SFT examples of the chains recipe: `perLength` chains of each length from generator seed `seed`,
 * each solved once by the noisy teacher (`teacherSolution`) with step error rate `rate(k)`, from
 * one seeded stream (`seededRandom(seed)`), so the same arguments give byte-identical data.
 */
export function chainsSftExamples(
  seed: number,
  lengths: readonly number[],
  perLength: number,
  rate: (k: number) => number = chainsStepErrorRate,
): SftExample[] {
  checkLengths(lengths);
  const rng = seededRandom(seed);
  return lengths.flatMap((k) =>
    generateChains({ seed, steps: k, count: perLength }).map((p) => ({
      id: p.id,
      prompt: syntheticPrompt(p.question),
      completion: teacherSolution(p, { stepErrorRate: rate(k), rng }).text,
    })),
  );
}

// ───────────────────────────── start-policy recipes ─────────────────────────────

/** Architectures by model size (llama-style, char tokenizer over `SYNTHETIC_CHARSET`). */
export const MODEL_SIZES = {
  tiny: { hiddenSize: 64, intermediateSize: 192, numLayers: 2, numHeads: 4 },
  small: { hiddenSize: 128, intermediateSize: 384, numLayers: 4, numHeads: 4 },
  base: { hiddenSize: 256, intermediateSize: 768, numLayers: 6, numHeads: 8 },
  large: { hiddenSize: 512, intermediateSize: 1536, numLayers: 8, numHeads: 8 },
} as const;
export type ModelSize = keyof typeof MODEL_SIZES;

/** One SFT stage of a start-policy recipe: its examples and its `runSft` config. */
export interface SftStage {
  /** What the stage trains on, in words (README tables, logs). */
  readonly describe: string;
  readonly examples: () => SftExample[];
  readonly train: SftConfigInput & { readonly steps: number };
}

/**
 * How a start policy is made: from fresh weights (`initWeights(config, initSeed)`) or from a
 * shipped checkpoint (`from`), then `runSft` stage by stage, each from the previous stage's weights.
 */
export interface StartRecipe {
  readonly name: string;
  /** Start from this shipped checkpoint (a folder name under the CLI's assets) instead of fresh weights. */
  readonly from?: string;
  readonly initSeed: number;
  readonly stages: readonly SftStage[];
}

/**
 * The `sft-tiny` recipe (start policy of the synthetic-levels regime): stage 1 teaches the answer
 * format on levels 1–2; stage 2 continues on levels 1–3 with more data and steps.
 */
export const SFT_TINY_RECIPE: StartRecipe = {
  name: "sft-tiny",
  initSeed: 1,
  stages: [
    {
      describe: "levels 1–2 × 4,000 worked solutions (generator seed 1000)",
      examples: () => syntheticSftExamples(SYNTHETIC_SEEDS.sft, [1, 2], 4000),
      train: {
        steps: 400,
        batchSize: 32,
        learningRate: 0.004,
        lrSchedule: "cosine",
        warmupSteps: 30,
        checkpointEvery: 50,
        seed: 0,
      },
    },
    {
      describe: "levels 1–3 × 10,000 worked solutions (generator seed 1000)",
      examples: () => syntheticSftExamples(SYNTHETIC_SEEDS.sft, [1, 2, 3], 10000),
      train: {
        steps: 1500,
        batchSize: 32,
        learningRate: 0.003,
        lrSchedule: "cosine",
        warmupSteps: 30,
        checkpointEvery: 250,
        seed: 0,
      },
    },
  ],
};

/** Chain lengths (= strata) of the chains regime. */
export const CHAINS_LENGTHS = [1, 2, 3, 4, 5] as const;

/**
 * The `sft-chains` recipe (start policy of the chains regime): from `sft-tiny` (which already
 * reads the sentences and writes `a op b=c` lines), one SFT stage on noisy-teacher solutions of
 * chains of 1–5 single-digit steps ({@link chainsSftExamples}: 2,000 per length, step error
 * rate {@link chainsStepErrorRate}). The policy inherits the teacher's slips, rising with the
 * chain length, which is what DPO on work-checked pairs can fix.
 */
export const SFT_CHAINS_RECIPE: StartRecipe = {
  name: "sft-chains",
  from: "sft-tiny",
  initSeed: 1,
  stages: [
    {
      describe:
        "chains of 1–5 steps × 2,000, noisy teacher (step error rate 0.10 + 0.05·(k − 1)), generator seed 1000",
      examples: () => chainsSftExamples(CHAINS_SEEDS.sft, CHAINS_LENGTHS, 2000),
      train: {
        steps: 400,
        batchSize: 32,
        learningRate: 0.001,
        lrSchedule: "cosine",
        warmupSteps: 20,
        checkpointEvery: 100,
        seed: 0,
      },
    },
  ],
};

/** SFT examples as the JSONL lines `sage sft --data` reads (`{id, prompt, completion}`, one per line). */
export function sftJsonl(examples: readonly SftExample[]): string {
  return `${examples.map((e) => JSON.stringify({ id: e.id, prompt: e.prompt, completion: e.completion })).join("\n")}\n`;
}
