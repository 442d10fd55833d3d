/**
 * The model benchmark's configurations: Llama-like (RMSNorm, RoPE, causal GQA attention, SwiGLU,
 * untied LM head) at about 1M, 10M and 100M parameters, with the batch, sequence length, step
 * counts and sampling sizes each one is measured at.
 */
import type { CreateConfigOptions } from "@sage/model";

export type ConfigId = "1m" | "10m" | "100m";
export const CONFIG_IDS: readonly ConfigId[] = ["1m", "10m", "100m"];

export interface StepPlan {
  /** Untimed steps first (pipeline compiles); the first step's time is still recorded. */
  warmup: number;
  /** Timed steps: at least `minSteps`, then more until `budgetMs` is spent, at most `maxSteps`. */
  minSteps: number;
  maxSteps: number;
  budgetMs: number;
  /**
   * If the warm-up step alone takes longer than this, no further step is run and the warm-up
   * step (which includes pipeline compilation) is reported as the only sample, with a note.
   */
  warmupCapMs: number;
}

export interface SamplingPlan {
  /** Prompts decoded together (one batch). */
  prompts: number;
  /** Tokens per prompt (random ids). */
  promptLen: number;
  /** New tokens per prompt (greedy; no stop token, so every row runs to the end). */
  newTokens: number;
}

export interface BenchConfig {
  id: ConfigId;
  /** `createConfig` options (llama, untied). */
  model: CreateConfigOptions;
  /** Training batch: `batch` rows of `seqLen` tokens (token 1, then `seqLen − 1` scored random tokens). */
  batch: number;
  seqLen: number;
  /** Shape of the float64-reference logits check (small: the reference is plain loops). */
  check: { batch: number; seqLen: number };
  steps: StepPlan;
  quickSteps: StepPlan;
  sampling: SamplingPlan;
  /** Time sampling with full recomputation (no KV cache) in a default run. */
  recompute: boolean;
  /** Peer (PyTorch CPU) steps. */
  peerSteps: Omit<StepPlan, "warmupCapMs">;
}

const SAMPLING: SamplingPlan = { prompts: 4, promptLen: 4, newTokens: 128 };

export const CONFIGS: Record<ConfigId, BenchConfig> = {
  // The issue's reference point: d = 128, 4 layers, T = 128, batch 8 (0.92M parameters with V = 256).
  "1m": {
    id: "1m",
    model: {
      hiddenSize: 128,
      intermediateSize: 384,
      numLayers: 4,
      numHeads: 4,
      numKvHeads: 4,
      vocabSize: 256,
      maxPositionEmbeddings: 1024,
    },
    batch: 8,
    seqLen: 128,
    check: { batch: 2, seqLen: 16 },
    steps: { warmup: 1, minSteps: 5, maxSteps: 10, budgetMs: 20_000, warmupCapMs: 300_000 },
    quickSteps: { warmup: 1, minSteps: 3, maxSteps: 3, budgetMs: 0, warmupCapMs: 300_000 },
    sampling: SAMPLING,
    recompute: true,
    peerSteps: { warmup: 1, minSteps: 5, maxSteps: 20, budgetMs: 5_000 },
  },
  // 11.0M: d = 384, 6 layers, 6 heads (hd 64) with 2 KV heads, I = 1024, V = 2048.
  "10m": {
    id: "10m",
    model: {
      hiddenSize: 384,
      intermediateSize: 1024,
      numLayers: 6,
      numHeads: 6,
      numKvHeads: 2,
      vocabSize: 2048,
      maxPositionEmbeddings: 1024,
    },
    batch: 4,
    seqLen: 256,
    check: { batch: 2, seqLen: 8 },
    steps: { warmup: 1, minSteps: 3, maxSteps: 5, budgetMs: 30_000, warmupCapMs: 300_000 },
    quickSteps: { warmup: 1, minSteps: 2, maxSteps: 2, budgetMs: 0, warmupCapMs: 120_000 },
    sampling: SAMPLING,
    recompute: false,
    peerSteps: { warmup: 1, minSteps: 3, maxSteps: 10, budgetMs: 5_000 },
  },
  // 100.7M: d = 768, 12 layers, 12 heads (hd 64) with 4 KV heads, I = 2048, V = 16384.
  "100m": {
    id: "100m",
    model: {
      hiddenSize: 768,
      intermediateSize: 2048,
      numLayers: 12,
      numHeads: 12,
      numKvHeads: 4,
      vocabSize: 16384,
      maxPositionEmbeddings: 1024,
    },
    batch: 1,
    seqLen: 256,
    check: { batch: 1, seqLen: 4 },
    steps: { warmup: 1, minSteps: 1, maxSteps: 2, budgetMs: 0, warmupCapMs: 300_000 },
    quickSteps: { warmup: 1, minSteps: 1, maxSteps: 1, budgetMs: 0, warmupCapMs: 120_000 },
    sampling: SAMPLING,
    recompute: false,
    peerSteps: { warmup: 1, minSteps: 2, maxSteps: 3, budgetMs: 5_000 },
  },
};

export function describeConfig(c: BenchConfig, parameters: number): string {
  const m = c.model;
  const kv = m.numKvHeads ?? m.numHeads;
  return (
    `${(parameters / 1e6).toFixed(2)}M parameters: d=${m.hiddenSize}, ${m.numLayers} layers, ` +
    `${m.numHeads} heads${kv !== m.numHeads ? ` (${kv} KV)` : ""}, I=${m.intermediateSize}, V=${m.vocabSize}; ` +
    `batch ${c.batch} × T ${c.seqLen}`
  );
}
