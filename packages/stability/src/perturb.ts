import { DEFAULT_STABILITY_CONFIG, type ErrorMarginSource, type StabilityConfig } from "./config.js";
import { describeValue, StabilityError } from "./errors.js";
import { deriveSeed, Rng } from "./rng.js";
import { errorMargins, type PairStatsBatch, validateBatch } from "./stats.js";

/**
 * How the K perturbed error margins of a pair are produced (spec, "Stability from perturbed
 * margins"). The selector hands one of these to the trainer with each scoring request.
 * - `token-dropout` (default): K seeded keep-masks over the response tokens, applied to the
 *   per-token log-probs of ONE forward pass (`tokenDropoutMasks` / `tokenDropoutWeights`).
 * - `policy-dropout`: K forward passes with dropout inside the policy, pass j seeded with
 *   `policyDropoutSeed(seed, j)`; assemble with `marginsFromPasses`.
 * - `history`: the pair's error margins at earlier refreshes (`MarginHistory`); one pass.
 */
export type PerturbationScheme =
  | { readonly kind: "token-dropout"; readonly k: number; readonly rho: number; readonly seed: number }
  | { readonly kind: "policy-dropout"; readonly k: number; readonly seed: number }
  | { readonly kind: "history"; readonly k: number };

export type PerturbationKind = PerturbationScheme["kind"];

/** Policy forward passes a scheme costs per scored pair. */
export function forwardPassesPerPair(scheme: PerturbationScheme | null): number {
  return scheme?.kind === "policy-dropout" ? scheme.k : 1;
}

/** Options of the token-dropout mask generator. */
export interface TokenDropoutOptions {
  /** Number of masks K. */
  readonly k: number;
  /** Drop probability ρ. */
  readonly rho: number;
  /** Base seed (e.g. the scheme's seed for this refresh). */
  readonly seed: number;
  /** The pair's integer key (dataset index, or `hashString(id)`). */
  readonly pairKey: number;
  /** 0 = chosen response, 1 = rejected response. */
  readonly side: 0 | 1;
}

function checkMaskArgs(nTokens: number, o: TokenDropoutOptions): void {
  if (!Number.isInteger(nTokens) || nTokens < 1) {
    throw StabilityError.mismatch("ARGUMENT_INVALID", "token dropout nTokens", "an integer ≥ 1", nTokens);
  }
  if (!Number.isInteger(o.k) || o.k < 1)
    throw StabilityError.mismatch("ARGUMENT_INVALID", "token dropout k", "an integer ≥ 1", o.k);
  if (!(o.rho >= 0 && o.rho < 1))
    throw StabilityError.mismatch("ARGUMENT_INVALID", "token dropout rho", "a number in [0, 1)", o.rho);
  if (!Number.isSafeInteger(o.pairKey) || o.pairKey < 0) {
    throw StabilityError.mismatch(
      "ARGUMENT_INVALID",
      "token dropout pairKey",
      "a non-negative integer (dataset index or hashString(id))",
      o.pairKey,
    );
  }
  if (o.side !== 0 && o.side !== 1) {
    throw StabilityError.mismatch(
      "ARGUMENT_INVALID",
      "token dropout side",
      "0 (chosen) or 1 (rejected)",
      o.side,
    );
  }
}

/**
 * K keep-masks over a response's `nTokens` tokens, row-major `K × nTokens` (1 = keep).
 * Token t of mask j is kept when its uniform draw is ≥ ρ; a mask that would drop every token keeps
 * the token with the largest draw, so every mask keeps ≥ 1 token. Deterministic in
 * `(seed, pairKey, side)`, independent of the order in which pairs are processed.
 */
export function tokenDropoutMasks(nTokens: number, options: TokenDropoutOptions): Uint8Array {
  checkMaskArgs(nTokens, options);
  const { k, rho } = options;
  const rng = new Rng(
    deriveSeed(options.seed, options.pairKey >>> 0, Math.floor(options.pairKey / 2 ** 32), options.side),
  );
  const out = new Uint8Array(k * nTokens);
  for (let j = 0; j < k; j++) {
    const o = j * nTokens;
    let kept = 0;
    let best = -1;
    let bestU = -1;
    for (let t = 0; t < nTokens; t++) {
      const u = rng.next();
      if (u >= rho) {
        out[o + t] = 1;
        kept++;
      }
      if (u > bestU) {
        bestU = u;
        best = t;
      }
    }
    if (kept === 0) out[o + best] = 1;
  }
  return out;
}

/**
 * The same masks as float weights with the kept-fraction rescale baked in:
 * `w[j][t] = mask[j][t] · nTokens / kept_j`, so a GPU reduction `Σ_t w[j][t] · logp[t]` gives the
 * rescaled perturbed sum directly (divide by `nTokens` for the length-normalised form).
 */
export function tokenDropoutWeights(nTokens: number, options: TokenDropoutOptions): Float32Array {
  const masks = tokenDropoutMasks(nTokens, options);
  const out = new Float32Array(masks.length);
  for (let j = 0; j < options.k; j++) {
    let kept = 0;
    for (let t = 0; t < nTokens; t++) kept += masks[j * nTokens + t]!;
    const w = nTokens / kept;
    for (let t = 0; t < nTokens; t++) out[j * nTokens + t] = masks[j * nTokens + t]! * w;
  }
  return out;
}

/**
 * Padded weights for a GPU batch: layout `[K][rows][maxTokens]` (float32), rows padded with 0 past
 * their length. `lengths[r]` is the response length of row r, `pairKeys[r]` its pair key.
 */
export function tokenDropoutWeightsPadded(
  lengths: ArrayLike<number>,
  pairKeys: ArrayLike<number>,
  maxTokens: number,
  options: Omit<TokenDropoutOptions, "pairKey">,
): Float32Array {
  const rows = lengths.length;
  if (pairKeys.length !== rows)
    throw StabilityError.mismatch("SHAPE_MISMATCH", "pairKeys length", String(rows), pairKeys.length);
  const out = new Float32Array(options.k * rows * maxTokens);
  for (let r = 0; r < rows; r++) {
    const n = lengths[r]!;
    if (n > maxTokens)
      throw StabilityError.mismatch("SHAPE_MISMATCH", `row ${r} length`, `≤ maxTokens = ${maxTokens}`, n);
    const w = tokenDropoutWeights(n, { ...options, pairKey: pairKeys[r]! });
    for (let j = 0; j < options.k; j++) out.set(w.subarray(j * n, j * n + n), (j * rows + r) * maxTokens);
  }
  return out;
}

/**
 * Apply K masks (`K × n`, 1 = keep) to one response's per-token log-probs. Returns K perturbed
 * values: the kept sum rescaled by the kept fraction (`Σ_kept lp · n / kept`), or with
 * `normalize: true` the kept mean (`Σ_kept lp / kept`, the length-normalised form).
 */
export function applyTokenDropout(
  tokenLogps: ArrayLike<number>,
  masks: ArrayLike<number>,
  k: number,
  options: { readonly normalize?: boolean } = {},
): Float64Array {
  const n = tokenLogps.length;
  if (masks.length !== k * n)
    throw StabilityError.mismatch("SHAPE_MISMATCH", "masks length", `k × tokens = ${k * n}`, masks.length);
  const out = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    let sum = 0;
    let kept = 0;
    for (let t = 0; t < n; t++) {
      const keep = masks[j * n + t]!;
      if (keep !== 0) {
        sum += tokenLogps[t]!;
        kept++;
      }
    }
    if (kept === 0)
      throw StabilityError.mismatch("ARGUMENT_INVALID", `mask ${j}`, "at least one kept token", "0 kept");
    out[j] = options.normalize ? sum / kept : (sum * n) / kept;
  }
  return out;
}

/** Per-token log-probs of one pair (response tokens only). Reference arrays are needed for `implicit`. */
export interface PairTokenLogps {
  readonly policyChosen: ArrayLike<number>;
  readonly policyRejected: ArrayLike<number>;
  readonly referenceChosen?: ArrayLike<number>;
  readonly referenceRejected?: ArrayLike<number>;
}

/**
 * K token-dropout error margins of one pair (CPU path). For `policy`:
 * `e^(j) = mean_kept ℓθ(y_w) − mean_kept ℓθ(y_l)`; for `implicit`: `β (r^(j)(y_w) − r^(j)(y_l))`
 * with rescaled kept sums (or kept means if `lengthNormalize`) of `ℓθ − ℓref` per token, the same
 * masks applied to policy and reference.
 */
export function tokenDropoutErrorMargins(
  tokens: PairTokenLogps,
  options: {
    readonly k: number;
    readonly rho: number;
    readonly seed: number;
    readonly pairKey: number;
    readonly source: ErrorMarginSource;
    readonly beta?: number;
    readonly lengthNormalize?: boolean;
  },
): Float64Array {
  const { k } = options;
  const nw = tokens.policyChosen.length;
  const nl = tokens.policyRejected.length;
  const mw = tokenDropoutMasks(nw, { ...options, side: 0 });
  const ml = tokenDropoutMasks(nl, { ...options, side: 1 });
  if (options.source === "policy") {
    const a = applyTokenDropout(tokens.policyChosen, mw, k, { normalize: true });
    const b = applyTokenDropout(tokens.policyRejected, ml, k, { normalize: true });
    for (let j = 0; j < k; j++) a[j] = a[j]! - b[j]!;
    return a;
  }
  const rw = tokens.referenceChosen;
  const rl = tokens.referenceRejected;
  if (rw === undefined || rl === undefined || rw.length !== nw || rl.length !== nl) {
    throw StabilityError.mismatch(
      "SHAPE_MISMATCH",
      "reference per-token log-probs (needed for the implicit source)",
      `arrays of ${nw} and ${nl} tokens`,
      { referenceChosen: rw?.length, referenceRejected: rl?.length },
    );
  }
  const dw = Float64Array.from(tokens.policyChosen, (v, t) => v - rw[t]!);
  const dl = Float64Array.from(tokens.policyRejected, (v, t) => v - rl[t]!);
  const normalize = options.lengthNormalize ?? false;
  const a = applyTokenDropout(dw, mw, k, { normalize });
  const b = applyTokenDropout(dl, ml, k, { normalize });
  const beta = options.beta ?? DEFAULT_STABILITY_CONFIG.beta;
  for (let j = 0; j < k; j++) a[j] = beta * (a[j]! - b[j]!);
  return a;
}

/** The seed of policy-dropout pass j (0-based) of a scheme. */
export function policyDropoutSeed(seed: number, pass: number): number {
  return deriveSeed(seed, pass);
}

/**
 * Assemble the `n × K` perturbed error margins from K forward passes with policy dropout
 * (`passes[j]` are the statistics of pass j, same pairs in the same order).
 */
export function marginsFromPasses(passes: readonly PairStatsBatch[], config: StabilityConfig): Float64Array {
  const k = passes.length;
  if (k < 1) throw StabilityError.mismatch("ARGUMENT_INVALID", "policy-dropout passes", "at least 1 pass", k);
  const n = validateBatch(passes[0]!);
  const out = new Float64Array(n * k);
  for (let j = 0; j < k; j++) {
    const pass = passes[j]!;
    if (validateBatch(pass) !== n) {
      throw StabilityError.mismatch("SHAPE_MISMATCH", `pass ${j} pairs`, String(n), pass.policyChosen.length);
    }
    const e = errorMargins(pass, config);
    for (let i = 0; i < n; i++) out[i * k + j] = e[i]!;
  }
  return out;
}

/** JSON form of a `MarginHistory`. */
export interface MarginHistoryState {
  readonly k: number;
  readonly entries: ReadonlyArray<readonly [number, readonly number[]]>;
}

/**
 * The `history` perturbation: each pair's last K error margins, one per refresh that scored it
 * (spec v2: statistics come from refresh scoring only; margins of training passes are not
 * recorded). `recordAndSummarise(keys, current)` appends the current margins and returns μ and s.
 */
export class MarginHistory {
  readonly k: number;
  private readonly map = new Map<number, number[]>();

  constructor(k: number) {
    if (!Number.isInteger(k) || k < 1)
      throw StabilityError.mismatch("ARGUMENT_INVALID", "MarginHistory k", "an integer ≥ 1", k);
    this.k = k;
  }

  get size(): number {
    return this.map.size;
  }

  /** Append a margin to a pair's history (keeps the newest K). */
  record(key: number, margin: number): void {
    if (!Number.isFinite(margin)) {
      throw StabilityError.mismatch(
        "VALUE_NON_FINITE",
        `margin history of pair ${key}`,
        "a finite margin",
        margin,
      );
    }
    let h = this.map.get(key);
    if (h === undefined) {
      h = [];
      this.map.set(key, h);
    }
    h.push(margin);
    if (h.length > this.k) h.shift();
  }

  /** The stored margins of a pair, oldest first. */
  get(key: number): readonly number[] {
    return this.map.get(key) ?? [];
  }

  /**
   * Record `current[i]` for each key, then return μ and s over each pair's history (up to K
   * margins; a pair seen once has s = 0).
   */
  recordAndSummarise(
    keys: ArrayLike<number>,
    current: ArrayLike<number>,
  ): { mu: Float64Array; sd: Float64Array } {
    const n = keys.length;
    if (current.length !== n)
      throw StabilityError.mismatch("SHAPE_MISMATCH", "current margins", String(n), current.length);
    const mu = new Float64Array(n);
    const sd = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      this.record(keys[i]!, current[i]!);
      const h = this.map.get(keys[i]!)!;
      let s = 0;
      for (const v of h) s += v;
      const m = s / h.length;
      let ss = 0;
      for (const v of h) ss += (v - m) * (v - m);
      mu[i] = m;
      sd[i] = Math.sqrt(ss / h.length);
    }
    return { mu, sd };
  }

  toJSON(): MarginHistoryState {
    return { k: this.k, entries: [...this.map.entries()].map(([key, v]) => [key, [...v]] as const) };
  }

  static fromJSON(state: MarginHistoryState): MarginHistory {
    if (typeof state !== "object" || state === null || !Array.isArray(state.entries)) {
      throw StabilityError.mismatch(
        "STATE_INVALID",
        "MarginHistory state",
        "{ k, entries: [key, margins][] }",
        state,
      );
    }
    const h = new MarginHistory(state.k);
    for (const entry of state.entries) {
      if (!Array.isArray(entry) || typeof entry[0] !== "number" || !Array.isArray(entry[1])) {
        throw StabilityError.mismatch(
          "STATE_INVALID",
          "MarginHistory entry",
          "[key, margins[]]",
          describeValue(entry),
        );
      }
      for (const v of entry[1]) h.record(entry[0], v);
    }
    return h;
  }
}
