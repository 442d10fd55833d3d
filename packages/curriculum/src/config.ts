import { describeValue, resolveStabilityConfig, type StabilityConfig } from "@sage/stability";
import { CurriculumError } from "./errors.js";

/** The selectors of the spec (section "Baselines" plus SAGE itself). */
export type SelectorName =
  | "sage"
  | "uniform"
  | "random"
  | "curriculum-only"
  | "score-only"
  | "hard-mining"
  | "small-margin"
  | "selective";

export const SELECTOR_NAMES: readonly SelectorName[] = [
  "sage",
  "uniform",
  "random",
  "curriculum-only",
  "score-only",
  "hard-mining",
  "small-margin",
  "selective",
];

/**
 * How the K perturbed error margins are obtained: the three schemes of the spec, or `none`
 * (μ = e, s = 0: margin-only, for data without perturbed margins).
 */
export type PerturbationMode = "token-dropout" | "policy-dropout" | "history" | "none";

/**
 * Where the curriculum measures competence (spec v2, "Competence"): `candidates` (default) — the
 * reward accuracy of each stratum's scored pool candidates not yet trained on (all of them once
 * every one has been trained on), from the pool's own scoring pass, nothing held out; `probe` —
 * the first spec version: `probeSize` probe pairs per stratum, held out of training and scored
 * with extra forward passes.
 */
export type CompetenceMode = "candidates" | "probe";

/** Selection configuration; every field has the spec's default (`DEFAULT_CURRICULUM_CONFIG`). */
export interface CurriculumConfig {
  /** B: pairs per training step. Not fixed by the spec. */
  readonly batchSize: number;
  /** R: refresh the pool every R steps. */
  readonly refreshEvery: number;
  /** P: pool size; `null` means `2 · B · R` (capped by what exists). */
  readonly poolSize: number | null;
  /** Number of difficulty strata (equal-count quantile buckets, easiest first). */
  readonly nStrata: number;
  /** Where competence is measured: pool candidates (default, nothing held out) or held-out probes. */
  readonly competence: CompetenceMode;
  /** Probe pairs held out per stratum (at most half of a stratum); used only with `competence: "probe"`. */
  readonly probeSize: number;
  /** Competence of the highest unlocked stratum that unlocks the next one. */
  readonly cAdv: number;
  /** Refreshes without advancing after which the next stratum unlocks anyway. */
  readonly maxRefreshes: number;
  /** Gumbel-top-k temperature τ (0 = deterministic top-k). */
  readonly tau: number;
  /** Temperature for `hard-mining` and `small-margin` (0 = pure top-k: "the highest"). */
  readonly baselineTau: number;
  /** Fraction kept by `selective` (easiest by reference loss). */
  readonly selectiveKeep: number;
  /** Perturbation scheme for μ and s. */
  readonly perturbation: PerturbationMode;
  /** Dataset level range mapped to difficulty `(level − levelMin) / (levelMax − levelMin)`. */
  readonly levelMin: number;
  readonly levelMax: number;
  /** Seed of every random choice (strata tie-breaks, probes, pools, Gumbel keys, masks). */
  readonly seed: number;
  /** Fine-level settings (see `@sage/stability`). */
  readonly stability: StabilityConfig;
}

/** Input form: every field optional, `stability` partial. */
export type CurriculumConfigInput = Partial<Omit<CurriculumConfig, "stability">> & {
  readonly stability?: Partial<StabilityConfig>;
};

export const DEFAULT_CURRICULUM_CONFIG: CurriculumConfig = Object.freeze({
  batchSize: 32,
  refreshEvery: 25,
  poolSize: null,
  nStrata: 4,
  competence: "candidates",
  probeSize: 64,
  cAdv: 0.7,
  maxRefreshes: 4,
  tau: 1,
  baselineTau: 0,
  selectiveKeep: 0.5,
  perturbation: "token-dropout",
  levelMin: 1,
  levelMax: 5,
  seed: 0,
  stability: resolveStabilityConfig(),
});

function check(ok: boolean, field: string, expected: string, value: unknown): void {
  if (!ok) throw CurriculumError.mismatch("INVALID_CONFIG", `curriculum config "${field}"`, expected, value);
}

/** Fill defaults and validate; unknown keys are rejected. */
export function resolveCurriculumConfig(input: CurriculumConfigInput = {}): CurriculumConfig {
  for (const key of Object.keys(input)) {
    if (!(key in DEFAULT_CURRICULUM_CONFIG)) {
      throw new CurriculumError(
        "INVALID_CONFIG",
        `unknown curriculum config field ${describeValue(key)}; expected one of ${Object.keys(DEFAULT_CURRICULUM_CONFIG).join(", ")}`,
      );
    }
  }
  let stability: StabilityConfig;
  try {
    stability = resolveStabilityConfig(input.stability ?? {});
  } catch (e) {
    throw new CurriculumError("INVALID_CONFIG", `curriculum config "stability": ${(e as Error).message}`);
  }
  const c: CurriculumConfig = { ...DEFAULT_CURRICULUM_CONFIG, ...input, stability };
  const posInt = (x: number) => Number.isInteger(x) && x >= 1;
  const finite = (x: number) => typeof x === "number" && Number.isFinite(x);
  check(posInt(c.batchSize), "batchSize", "an integer ≥ 1", c.batchSize);
  check(posInt(c.refreshEvery), "refreshEvery", "an integer ≥ 1", c.refreshEvery);
  check(c.poolSize === null || posInt(c.poolSize), "poolSize", "null or an integer ≥ 1", c.poolSize);
  check(posInt(c.nStrata), "nStrata", "an integer ≥ 1", c.nStrata);
  check(
    c.competence === "candidates" || c.competence === "probe",
    "competence",
    '"candidates" or "probe"',
    c.competence,
  );
  check(Number.isInteger(c.probeSize) && c.probeSize >= 0, "probeSize", "an integer ≥ 0", c.probeSize);
  check(finite(c.cAdv) && c.cAdv >= 0 && c.cAdv <= 1, "cAdv", "a number in [0, 1]", c.cAdv);
  check(posInt(c.maxRefreshes), "maxRefreshes", "an integer ≥ 1", c.maxRefreshes);
  check(finite(c.tau) && c.tau >= 0, "tau", "a finite number ≥ 0", c.tau);
  check(finite(c.baselineTau) && c.baselineTau >= 0, "baselineTau", "a finite number ≥ 0", c.baselineTau);
  check(
    finite(c.selectiveKeep) && c.selectiveKeep > 0 && c.selectiveKeep <= 1,
    "selectiveKeep",
    "a number in (0, 1]",
    c.selectiveKeep,
  );
  check(
    ["token-dropout", "policy-dropout", "history", "none"].includes(c.perturbation),
    "perturbation",
    '"token-dropout", "policy-dropout", "history" or "none"',
    c.perturbation,
  );
  check(
    finite(c.levelMin) && finite(c.levelMax) && c.levelMax > c.levelMin,
    "levelMin/levelMax",
    "finite with levelMax > levelMin",
    [c.levelMin, c.levelMax],
  );
  check(Number.isSafeInteger(c.seed) && c.seed >= 0, "seed", "a non-negative safe integer", c.seed);
  return c;
}

/** The effective pool size `P` (before capping by what exists). */
export function poolSizeOf(c: CurriculumConfig): number {
  return c.poolSize ?? 2 * c.batchSize * c.refreshEvery;
}
