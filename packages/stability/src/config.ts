import { describeValue, StabilityError } from "./errors.js";

/** Which margin measures an error (spec, "Which margin measures an error"). */
export type ErrorMarginSource = "policy" | "implicit";

/**
 * How the score's two terms are combined (spec v2, "Score"): `pool` (default) standardises each
 * term over the current pool with a robust z-score before `S = ẑ(a) − α·ẑ(b)`; `raw` is the
 * first spec version's unstandardised `S = a − α·b`, kept as an ablation.
 */
export type ScoreScale = "pool" | "raw";

/** Fine-level configuration. Every field has the spec's default (see `DEFAULT_STABILITY_CONFIG`). */
export interface StabilityConfig {
  /** DPO β in `m = β (r(y_w) − r(y_l))`. Not fixed by the spec; 0.1 is the common DPO default. */
  readonly beta: number;
  /** Error margin ranking pairs: `policy` (length-normalised policy preference) or `implicit` (`m`). */
  readonly errorMargin: ErrorMarginSource;
  /** Divide sequence log-probs by token counts before computing the implicit margin `m`. */
  readonly lengthNormalize: boolean;
  /** Number of perturbed error margins K. */
  readonly k: number;
  /** Token-dropout probability ρ. */
  readonly rho: number;
  /** Unstable filter `|μ| < z_min · s` (0 = off). */
  readonly zMin: number;
  /** Trivial filter `σ(−m) < g_min`. */
  readonly gMin: number;
  /** Weight α of the noise term (`−α·ẑ(b)` with `scale: "pool"`, `−α·b` with `"raw"`; `b = log(s + s0)`). */
  readonly alpha: number;
  /** Noise floor s0 (margin units). */
  readonly s0: number;
  /** Cap on `−μ` in the score. */
  readonly mCap: number;
  /** `pool`: standardise both score terms over the pool (default); `raw`: the v1 sum. */
  readonly scale: ScoreScale;
}

export const DEFAULT_STABILITY_CONFIG: StabilityConfig = Object.freeze({
  beta: 0.1,
  errorMargin: "policy",
  lengthNormalize: false,
  k: 4,
  rho: 0.1,
  zMin: 0,
  gMin: 0.02,
  alpha: 1,
  s0: 0.05,
  mCap: 8,
  scale: "pool",
});

function check(ok: boolean, field: string, expected: string, value: unknown): void {
  if (!ok) throw StabilityError.mismatch("INVALID_CONFIG", `stability config "${field}"`, expected, value);
}

/** Fill defaults and validate ranges; unknown keys are rejected. */
export function resolveStabilityConfig(partial: Partial<StabilityConfig> = {}): StabilityConfig {
  for (const key of Object.keys(partial)) {
    if (!(key in DEFAULT_STABILITY_CONFIG)) {
      throw new StabilityError(
        "INVALID_CONFIG",
        `unknown stability config field ${describeValue(key)}; expected one of ${Object.keys(DEFAULT_STABILITY_CONFIG).join(", ")}`,
      );
    }
  }
  const c: StabilityConfig = { ...DEFAULT_STABILITY_CONFIG, ...partial };
  const finite = (x: number) => typeof x === "number" && Number.isFinite(x);
  check(finite(c.beta) && c.beta > 0, "beta", "a finite number > 0", c.beta);
  check(
    c.errorMargin === "policy" || c.errorMargin === "implicit",
    "errorMargin",
    '"policy" or "implicit"',
    c.errorMargin,
  );
  check(typeof c.lengthNormalize === "boolean", "lengthNormalize", "a boolean", c.lengthNormalize);
  check(Number.isInteger(c.k) && c.k >= 1, "k", "an integer ≥ 1", c.k);
  check(finite(c.rho) && c.rho >= 0 && c.rho < 1, "rho", "a number in [0, 1)", c.rho);
  check(finite(c.zMin) && c.zMin >= 0, "zMin", "a finite number ≥ 0", c.zMin);
  check(finite(c.gMin) && c.gMin >= 0 && c.gMin < 1, "gMin", "a number in [0, 1)", c.gMin);
  check(finite(c.alpha) && c.alpha >= 0, "alpha", "a finite number ≥ 0", c.alpha);
  check(finite(c.s0) && c.s0 > 0, "s0", "a finite number > 0", c.s0);
  check(
    typeof c.mCap === "number" && !Number.isNaN(c.mCap) && c.mCap > 0,
    "mCap",
    "a number > 0 (Infinity = no cap)",
    c.mCap,
  );
  check(c.scale === "pool" || c.scale === "raw", "scale", '"pool" or "raw"', c.scale);
  return c;
}
