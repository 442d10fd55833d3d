/**
 * CPU sampling utilities: a seeded RNG and greedy / temperature / top-k / top-p selection over one
 * row of logits, plus stop-string and EOS handling for generated text.
 */
import type { Rng } from "@sage/core";
import { ModelError, show } from "./errors.js";

/**
 * The seeded generator of sampling and weight initialisation: `@sage/core`'s `Rng` (xoshiro128**
 * seeded through splitmix32; `next`, `normal`, `int`, …), re-exported as part of this package's API.
 */
export { Rng } from "@sage/core";

export interface SamplingOptions {
  /** 0 (default) = greedy argmax; otherwise logits are divided by it before softmax. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 or undefined = all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability mass reaches p (1 = all). */
  topP?: number;
}

export function validateSampling(o: SamplingOptions): void {
  const t = o.temperature ?? 0;
  if (!Number.isFinite(t) || t < 0) {
    throw new ModelError("INPUT_INVALID", `temperature must be a finite number ≥ 0, received ${show(t)}`);
  }
  if (o.topK !== undefined && (!Number.isSafeInteger(o.topK) || o.topK < 0)) {
    throw new ModelError("INPUT_INVALID", `topK must be an integer ≥ 0, received ${show(o.topK)}`);
  }
  if (o.topP !== undefined && (!(o.topP > 0) || o.topP > 1)) {
    throw new ModelError("INPUT_INVALID", `topP must be in (0, 1], received ${show(o.topP)}`);
  }
}

/** Index of the largest logit (first one on ties). NaN logits are an error. */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  let bestV = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i] as number;
    if (Number.isNaN(v)) throw new ModelError("INPUT_INVALID", `logit ${i} is NaN`);
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best;
}

/**
 * The probabilities the sampler draws from (after temperature, top-k, top-p), as a sparse list
 * sorted by decreasing probability. Ties are broken by lower token id first.
 */
export function samplingDistribution(
  logits: ArrayLike<number>,
  o: SamplingOptions,
): { ids: number[]; probs: number[] } {
  validateSampling(o);
  const t = o.temperature ?? 0;
  if (t === 0) return { ids: [argmax(logits)], probs: [1] };
  const n = logits.length;
  const idx: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = logits[i] as number;
    if (Number.isNaN(v)) throw new ModelError("INPUT_INVALID", `logit ${i} is NaN`);
    if (v !== Number.NEGATIVE_INFINITY) idx.push(i);
  }
  if (idx.length === 0) throw new ModelError("INPUT_INVALID", "all logits are -Infinity");
  idx.sort((a, b) => (logits[b] as number) - (logits[a] as number) || a - b);
  const k = o.topK && o.topK > 0 ? Math.min(o.topK, idx.length) : idx.length;
  const kept = idx.slice(0, k);
  const m = (logits[kept[0] as number] as number) / t;
  const w = kept.map((i) => Math.exp((logits[i] as number) / t - m));
  let z = 0;
  for (const x of w) z += x;
  let probs = w.map((x) => x / z);
  let ids = kept;
  const p = o.topP ?? 1;
  if (p < 1) {
    let cum = 0;
    let cut = probs.length;
    for (let i = 0; i < probs.length; i++) {
      cum += probs[i] as number;
      if (cum >= p) {
        cut = i + 1;
        break;
      }
    }
    ids = ids.slice(0, cut);
    probs = probs.slice(0, cut);
    const z2 = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((x) => x / z2);
  }
  return { ids, probs };
}

/** Draw one token id from a logits row. Uses exactly one `rng.next()` unless greedy. */
export function sampleToken(logits: ArrayLike<number>, o: SamplingOptions, rng: Rng): number {
  const { ids, probs } = samplingDistribution(logits, o);
  if (ids.length === 1) {
    if ((o.temperature ?? 0) > 0) rng.next(); // keep the stream aligned across rows
    return ids[0] as number;
  }
  const u = rng.next();
  let cum = 0;
  for (let i = 0; i < ids.length; i++) {
    cum += probs[i] as number;
    if (u < cum) return ids[i] as number;
  }
  return ids[ids.length - 1] as number;
}

export interface StopOptions {
  /** Token ids that end generation (the EOS id is typically here); the stop token is kept. */
  stopTokenIds?: readonly number[];
  /** Strings that end generation; the text is cut before the first occurrence. */
  stopStrings?: readonly string[];
}

/**
 * Apply stop strings to decoded text: returns the text cut before the earliest stop string and
 * whether one was found.
 */
export function applyStopStrings(
  text: string,
  stops: readonly string[] = [],
): { text: string; stopped: boolean } {
  let cut = -1;
  for (const s of stops) {
    if (s.length === 0) throw new ModelError("INPUT_INVALID", "stop strings must be non-empty");
    const i = text.indexOf(s);
    if (i >= 0 && (cut < 0 || i < cut)) cut = i;
  }
  return cut < 0 ? { text, stopped: false } : { text: text.slice(0, cut), stopped: true };
}
