import { SELECTOR_NAMES, type SelectorName } from "@sage/curriculum";
import { PlaygroundError } from "./errors.js";

/**
 * The start policy: a folder of `packages/cli/assets` served as static files (config.json,
 * model.safetensors, tokenizer.json). One constant, so another shipped checkpoint can be swapped in.
 */
export const CHECKPOINT = "sft-tiny";

/** Everything one playground run uses. */
export interface PlaygroundSettings {
  /** Selectors trained one after the other from the same start policy and pool. */
  readonly selectors: readonly SelectorName[];
  readonly steps: number;
  readonly learningRate: number;
  readonly seed: number;
  /** Pairs per DPO step. */
  readonly batchSize: number;
  /** Difficulty levels of the synthetic task (the curriculum's strata). */
  readonly levels: readonly number[];
  /** Pool problems per level; each is sampled `samples` times to make pairs. */
  readonly poolPerLevel: number;
  readonly samples: number;
  /** Held-out problems per level for pass@1 (greedy). */
  readonly evalPerLevel: number;
  readonly evalEvery: number;
  /** Tokens per sampled or evaluated answer. */
  readonly maxNewTokens: number;
  /** SAGE's refresh period (steps between candidate-pool refreshes). */
  readonly refreshEvery: number;
}

/**
 * The default run: small enough to finish in a couple of minutes on a software GPU (SwiftShader),
 * big enough that both selectors draw from more than one stratum.
 */
export const DEFAULT_SETTINGS: PlaygroundSettings = {
  selectors: ["uniform", "sage"],
  steps: 8,
  learningRate: 2e-5,
  seed: 0,
  batchSize: 4,
  levels: [1, 2, 3],
  poolPerLevel: 12,
  samples: 8,
  evalPerLevel: 4,
  evalEvery: 4,
  maxNewTokens: 48,
  refreshEvery: 4,
};

function integer(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new PlaygroundError("CONFIG_INVALID", `${name}: expected an integer in [${min}, ${max}]`, v);
  }
  return v;
}

/** Settings over the defaults, validated; a bad field is a `CONFIG_INVALID` error naming it. */
export function parseSettings(
  input: Partial<Record<keyof PlaygroundSettings, unknown>> = {},
): PlaygroundSettings {
  const s = { ...DEFAULT_SETTINGS, ...input } as Record<keyof PlaygroundSettings, unknown>;
  const selectors = s.selectors;
  if (
    !Array.isArray(selectors) ||
    selectors.length === 0 ||
    selectors.some((x) => !(SELECTOR_NAMES as readonly unknown[]).includes(x)) ||
    new Set(selectors).size !== selectors.length
  ) {
    throw new PlaygroundError(
      "CONFIG_INVALID",
      `selectors: expected distinct names among ${SELECTOR_NAMES.join(", ")}`,
      selectors,
    );
  }
  const lr = s.learningRate;
  if (typeof lr !== "number" || !(lr > 0) || !(lr <= 1)) {
    throw new PlaygroundError("CONFIG_INVALID", "learningRate: expected a number in (0, 1]", lr);
  }
  const levels = s.levels;
  if (
    !Array.isArray(levels) ||
    levels.length === 0 ||
    levels.some((l) => ![1, 2, 3, 4, 5].includes(l as number))
  ) {
    throw new PlaygroundError("CONFIG_INVALID", "levels: expected a non-empty list of levels 1..5", levels);
  }
  return {
    selectors: selectors as SelectorName[],
    steps: integer("steps", s.steps, 1, 10_000),
    learningRate: lr,
    seed: integer("seed", s.seed, 0, 2 ** 31 - 1),
    batchSize: integer("batchSize", s.batchSize, 1, 256),
    levels: [...new Set(levels as number[])].sort((a, b) => a - b),
    poolPerLevel: integer("poolPerLevel", s.poolPerLevel, 1, 10_000),
    samples: integer("samples", s.samples, 2, 64),
    evalPerLevel: integer("evalPerLevel", s.evalPerLevel, 1, 10_000),
    evalEvery: integer("evalEvery", s.evalEvery, 1, 10_000),
    maxNewTokens: integer("maxNewTokens", s.maxNewTokens, 1, 4096),
    refreshEvery: integer("refreshEvery", s.refreshEvery, 1, 10_000),
  };
}
