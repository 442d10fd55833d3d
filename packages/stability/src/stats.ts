import type { StabilityConfig } from "./config.js";
import { describeValue, StabilityError } from "./errors.js";

/**
 * Forward-pass statistics of one pair. Log-probs are SUMS over response tokens (prompt masked);
 * token counts let the package length-normalise where the spec says so.
 */
export interface PairStats {
  /** Optional id, used in error messages. */
  readonly id?: string | number;
  /** `ℓθ(y_w | x)`: policy sequence log-prob of the chosen response. */
  readonly policyChosen: number;
  /** `ℓθ(y_l | x)`: policy sequence log-prob of the rejected response. */
  readonly policyRejected: number;
  /** `ℓref(y_w | x)`. */
  readonly referenceChosen: number;
  /** `ℓref(y_l | x)`. */
  readonly referenceRejected: number;
  /** `|y_w|`, response tokens of the chosen answer (≥ 1). */
  readonly chosenTokens: number;
  /** `|y_l|`. */
  readonly rejectedTokens: number;
  /** Optional K perturbed ERROR margins `e^(1..K)` (in the configured error-margin source). */
  readonly perturbed?: readonly number[];
}

/**
 * The same statistics for n pairs, column-wise (structure of arrays). `perturbed`, when present,
 * is row-major `n × k`: pair i's margins are `perturbed[i*k .. i*k + k)`.
 */
export interface PairStatsBatch {
  readonly ids?: ReadonlyArray<string | number>;
  readonly policyChosen: Float64Array;
  readonly policyRejected: Float64Array;
  readonly referenceChosen: Float64Array;
  readonly referenceRejected: Float64Array;
  readonly chosenTokens: Float64Array;
  readonly rejectedTokens: Float64Array;
  readonly perturbed?: Float64Array;
  /** K of `perturbed` (required with it). */
  readonly k?: number;
}

/** The per-pair columns of a `PairStatsBatch`, in order. */
export const STATS_COLUMNS = [
  "policyChosen",
  "policyRejected",
  "referenceChosen",
  "referenceRejected",
  "chosenTokens",
  "rejectedTokens",
] as const;

/** The per-pair columns of a batch, one array each. */
export type StatsColumns = { [C in (typeof STATS_COLUMNS)[number]]: Float64Array };

/** Zero-filled per-pair columns for a batch of `n` pairs (keys in `STATS_COLUMNS` order). */
export function emptyStatsColumns(n: number): StatsColumns {
  return {
    policyChosen: new Float64Array(n),
    policyRejected: new Float64Array(n),
    referenceChosen: new Float64Array(n),
    referenceRejected: new Float64Array(n),
    chosenTokens: new Float64Array(n),
    rejectedTokens: new Float64Array(n),
  };
}

/** Number of pairs in a batch. */
export function batchSize(batch: PairStatsBatch): number {
  return batch.policyChosen.length;
}

function pairName(batch: { readonly ids?: ReadonlyArray<string | number> }, i: number): string {
  const id = batch.ids?.[i];
  return id === undefined ? `pair at index ${i}` : `pair ${describeValue(id)} (index ${i})`;
}

/**
 * Check shapes and values: every column has n entries, all finite, token counts ≥ 1, perturbed
 * is `n × k` and finite. Throws a `StabilityError` naming the first offending pair.
 */
export function validateBatch(batch: PairStatsBatch): number {
  const n = batch.policyChosen.length;
  for (const c of STATS_COLUMNS) {
    const col = batch[c];
    if (!(col instanceof Float64Array)) {
      throw StabilityError.mismatch("SHAPE_MISMATCH", `column "${c}"`, "a Float64Array", col);
    }
    if (col.length !== n) {
      throw StabilityError.mismatch(
        "SHAPE_MISMATCH",
        `column "${c}" length`,
        `${n} (policyChosen's length)`,
        col.length,
      );
    }
  }
  if (batch.ids !== undefined && batch.ids.length !== n) {
    throw StabilityError.mismatch("SHAPE_MISMATCH", "ids length", String(n), batch.ids.length);
  }
  for (const c of STATS_COLUMNS) {
    const col = batch[c];
    const isTokens = c === "chosenTokens" || c === "rejectedTokens";
    for (let i = 0; i < n; i++) {
      const v = col[i]!;
      if (!Number.isFinite(v)) {
        throw StabilityError.mismatch(
          "VALUE_NON_FINITE",
          `${pairName(batch, i)}: ${c}`,
          "a finite number",
          v,
        );
      }
      if (isTokens && !(v >= 1)) {
        throw StabilityError.mismatch(
          "ARGUMENT_INVALID",
          `${pairName(batch, i)}: ${c}`,
          "a token count ≥ 1",
          v,
        );
      }
    }
  }
  if (batch.perturbed !== undefined) {
    const k = batch.k;
    if (k === undefined || !Number.isInteger(k) || k < 1) {
      throw StabilityError.mismatch(
        "SHAPE_MISMATCH",
        "batch.k (required with perturbed)",
        "an integer ≥ 1",
        k,
      );
    }
    if (batch.perturbed.length !== n * k) {
      throw StabilityError.mismatch(
        "SHAPE_MISMATCH",
        "perturbed length",
        `n × k = ${n * k}`,
        batch.perturbed.length,
      );
    }
    for (let i = 0; i < n * k; i++) {
      if (!Number.isFinite(batch.perturbed[i]!)) {
        throw StabilityError.mismatch(
          "VALUE_NON_FINITE",
          `${pairName(batch, Math.floor(i / k))}: perturbed margin ${i % k}`,
          "a finite number",
          batch.perturbed[i],
        );
      }
    }
  }
  return n;
}

/**
 * Build a column batch from per-pair records. All records must agree on the number of perturbed
 * margins (all absent, or all of the same length K).
 */
export function batchFromRecords(records: readonly PairStats[]): PairStatsBatch {
  const n = records.length;
  const cols = emptyStatsColumns(n);
  const ids: Array<string | number> = [];
  const k = records[0]?.perturbed?.length;
  const perturbed = k === undefined ? undefined : new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    ids.push(r.id ?? i);
    for (const c of STATS_COLUMNS) {
      const v = r[c];
      if (typeof v !== "number") {
        throw StabilityError.mismatch("ARGUMENT_INVALID", `${pairName({ ids }, i)}: ${c}`, "a number", v);
      }
      cols[c][i] = v;
    }
    const p = r.perturbed;
    if ((p === undefined) !== (k === undefined) || (p !== undefined && p.length !== k)) {
      throw StabilityError.mismatch(
        "SHAPE_MISMATCH",
        `${pairName({ ids }, i)}: perturbed`,
        k === undefined ? "absent (as in the first record)" : `${k} margins (as in the first record)`,
        p,
      );
    }
    if (p !== undefined && perturbed !== undefined) perturbed.set(p, i * k!);
  }
  const batch: PairStatsBatch =
    perturbed === undefined || k === undefined ? { ids, ...cols } : { ids, ...cols, perturbed, k };
  validateBatch(batch);
  return batch;
}

/** Select rows of a batch (e.g. the pairs of a pool). */
export function subsetBatch(batch: PairStatsBatch, rows: ArrayLike<number>): PairStatsBatch {
  const n = rows.length;
  const pick = (a: Float64Array) => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = a[rows[i]!]!;
    return out;
  };
  const base = {
    policyChosen: pick(batch.policyChosen),
    policyRejected: pick(batch.policyRejected),
    referenceChosen: pick(batch.referenceChosen),
    referenceRejected: pick(batch.referenceRejected),
    chosenTokens: pick(batch.chosenTokens),
    rejectedTokens: pick(batch.rejectedTokens),
  };
  const ids =
    batch.ids === undefined ? undefined : Array.from({ length: n }, (_, i) => batch.ids![rows[i]!]!);
  const withIds = ids === undefined ? base : { ...base, ids };
  if (batch.perturbed === undefined || batch.k === undefined) return withIds;
  const k = batch.k;
  const perturbed = new Float64Array(n * k);
  for (let i = 0; i < n; i++) perturbed.set(batch.perturbed.subarray(rows[i]! * k, rows[i]! * k + k), i * k);
  return { ...withIds, perturbed, k };
}

/** Implicit DPO margins `m_i` of a batch (length-normalised if `config.lengthNormalize`). */
export function implicitMargins(
  batch: PairStatsBatch,
  config: Pick<StabilityConfig, "beta" | "lengthNormalize">,
): Float64Array {
  const n = batch.policyChosen.length;
  const out = new Float64Array(n);
  const { policyChosen: pw, policyRejected: pl, referenceChosen: rw, referenceRejected: rl } = batch;
  const { chosenTokens: tw, rejectedTokens: tl } = batch;
  const beta = config.beta;
  if (config.lengthNormalize) {
    for (let i = 0; i < n; i++) out[i] = beta * ((pw[i]! - rw[i]!) / tw[i]! - (pl[i]! - rl[i]!) / tl[i]!);
  } else {
    for (let i = 0; i < n; i++) out[i] = beta * (pw[i]! - rw[i]! - (pl[i]! - rl[i]!));
  }
  return out;
}

/** Policy error margins `e_i = ℓθ(y_w)/|y_w| − ℓθ(y_l)/|y_l|`. */
export function policyMargins(batch: PairStatsBatch): Float64Array {
  const n = batch.policyChosen.length;
  const out = new Float64Array(n);
  const { policyChosen: pw, policyRejected: pl, chosenTokens: tw, rejectedTokens: tl } = batch;
  for (let i = 0; i < n; i++) out[i] = pw[i]! / tw[i]! - pl[i]! / tl[i]!;
  return out;
}

/**
 * Reference preference `Δref_i = ℓref(y_w) − ℓref(y_l)` (length-normalised if `lengthNormalize`);
 * the spec's reference margin is `m_ref = β Δref`.
 */
export function referencePreference(
  batch: PairStatsBatch,
  config: Pick<StabilityConfig, "lengthNormalize">,
): Float64Array {
  const n = batch.policyChosen.length;
  const out = new Float64Array(n);
  const { referenceChosen: rw, referenceRejected: rl, chosenTokens: tw, rejectedTokens: tl } = batch;
  if (config.lengthNormalize) for (let i = 0; i < n; i++) out[i] = rw[i]! / tw[i]! - rl[i]! / tl[i]!;
  else for (let i = 0; i < n; i++) out[i] = rw[i]! - rl[i]!;
  return out;
}

/** The unperturbed error margins of a batch in the configured source. */
export function errorMargins(batch: PairStatsBatch, config: StabilityConfig): Float64Array {
  return config.errorMargin === "policy" ? policyMargins(batch) : implicitMargins(batch, config);
}
