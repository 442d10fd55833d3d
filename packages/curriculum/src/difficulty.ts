import { describeValue } from "@sage/core";
import { sigmoid } from "@sage/stability";
import { CurriculumError } from "./errors.js";

/**
 * What the selectors need to know about a pair before any forward pass: the inputs of the
 * difficulty estimate. All fields are optional; difficulty uses the first available of
 * `passRate`, `level`, then the reference log-probs.
 */
export interface PairMeta {
  /** Optional id, used in error messages. */
  readonly id?: string | number;
  /** Reference policy's pass rate on the prompt over n samples, in [0, 1]. */
  readonly passRate?: number;
  /** Dataset difficulty label (e.g. MATH level 1–5). */
  readonly level?: number;
  /** `ℓref(y_w | x)` (sequence sum), for the reference-margin difficulty and `selective`. */
  readonly referenceChosen?: number;
  /** `ℓref(y_l | x)`. */
  readonly referenceRejected?: number;
  /** Token counts, needed with the reference log-probs when `lengthNormalize` is on. */
  readonly chosenTokens?: number;
  readonly rejectedTokens?: number;
}

/** Which rule gave a pair its difficulty. */
export type DifficultySource = "pass-rate" | "level" | "reference-margin";

export interface DifficultyOptions {
  readonly levelMin: number;
  readonly levelMax: number;
  /** Length-normalise the reference log-probs (the stability config's `lengthNormalize`). */
  readonly lengthNormalize: boolean;
}

function pairName(p: PairMeta, i: number): string {
  return p.id === undefined ? `pair at index ${i}` : `pair ${describeValue(p.id)} (index ${i})`;
}

/**
 * Reference preference `Δref = ℓref(y_w) − ℓref(y_l)` of a pair (`m_ref / β`), or `undefined` when the
 * reference log-probs are missing. Throws on non-finite values.
 */
export function referencePreferenceOf(p: PairMeta, i: number, lengthNormalize: boolean): number | undefined {
  const { referenceChosen: rw, referenceRejected: rl } = p;
  if (rw === undefined && rl === undefined) return undefined;
  if (typeof rw !== "number" || !Number.isFinite(rw) || typeof rl !== "number" || !Number.isFinite(rl)) {
    throw CurriculumError.mismatch(
      "VALUE_NON_FINITE",
      `${pairName(p, i)}: reference log-probs`,
      "two finite numbers",
      {
        referenceChosen: rw,
        referenceRejected: rl,
      },
    );
  }
  if (!lengthNormalize) return rw - rl;
  const tw = p.chosenTokens;
  const tl = p.rejectedTokens;
  if (typeof tw !== "number" || typeof tl !== "number" || !(tw >= 1) || !(tl >= 1)) {
    throw CurriculumError.mismatch(
      "DATA_INVALID",
      `${pairName(p, i)}: token counts (lengthNormalize is on)`,
      "two counts ≥ 1",
      {
        chosenTokens: tw,
        rejectedTokens: tl,
      },
    );
  }
  return rw / tw - rl / tl;
}

/**
 * Difficulty `d ∈ [0, 1]` per pair, first available of (spec, "Difficulty"):
 * 1. `1 − passRate`; 2. `(level − levelMin) / (levelMax − levelMin)`; 3. `σ(−m_ref/β) = σ(−Δref)`.
 * A pair with none of them, or with an out-of-range value, throws an error naming it.
 */
export function estimateDifficulty(
  pairs: readonly PairMeta[],
  options: DifficultyOptions,
): { difficulty: Float64Array; source: DifficultySource[] } {
  const n = pairs.length;
  const difficulty = new Float64Array(n);
  const source: DifficultySource[] = new Array(n);
  const span = options.levelMax - options.levelMin;
  for (let i = 0; i < n; i++) {
    const p = pairs[i]!;
    if (p.passRate !== undefined) {
      if (typeof p.passRate !== "number" || !(p.passRate >= 0 && p.passRate <= 1)) {
        throw CurriculumError.mismatch(
          "DATA_INVALID",
          `${pairName(p, i)}: passRate`,
          "a number in [0, 1]",
          p.passRate,
        );
      }
      difficulty[i] = 1 - p.passRate;
      source[i] = "pass-rate";
      continue;
    }
    if (p.level !== undefined) {
      if (typeof p.level !== "number" || !(p.level >= options.levelMin && p.level <= options.levelMax)) {
        throw CurriculumError.mismatch(
          "DATA_INVALID",
          `${pairName(p, i)}: level`,
          `a number in [${options.levelMin}, ${options.levelMax}]`,
          p.level,
        );
      }
      difficulty[i] = (p.level - options.levelMin) / span;
      source[i] = "level";
      continue;
    }
    const d = referencePreferenceOf(p, i, options.lengthNormalize);
    if (d === undefined) {
      throw new CurriculumError(
        "DATA_INVALID",
        `${pairName(p, i)}: no difficulty input; expected passRate, level, or referenceChosen + referenceRejected, received ${describeValue(p)}`,
      );
    }
    difficulty[i] = sigmoid(-d);
    source[i] = "reference-margin";
  }
  return { difficulty, source };
}
