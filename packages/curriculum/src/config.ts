import {
  describeSettingIssue,
  firstSettingIssue,
  optionalSettings,
  type StabilityConfig,
  settingsObject,
  stabilityConfigInputSchema,
  stabilityConfigSchema,
} from "@sage/stability";
import { z } from "zod";
import { CurriculumError } from "./errors.js";

/** The selectors of the spec (section "Baselines" plus SAGE itself). */
export const SELECTOR_NAMES = [
  "sage",
  "uniform",
  "random",
  "curriculum-only",
  "score-only",
  "hard-mining",
  "small-margin",
  "selective",
] as const;

export type SelectorName = (typeof SELECTOR_NAMES)[number];

/** `{ error }` for every check of a setting: its issues read `expected <what>`. */
const expecting = (what: string) => ({ error: `expected ${what}` });

/** A selector name (`SELECTOR_NAMES`), for config files. */
export const selectorNameSchema = z.enum(SELECTOR_NAMES, expecting(`one of ${SELECTOR_NAMES.join(", ")}`));

/**
 * How the K perturbed error margins are obtained: the three schemes of the spec, or `none`
 * (μ = e, s = 0: margin-only, for data without perturbed margins).
 */
export type PerturbationMode = CurriculumConfig["perturbation"];

/**
 * Where the curriculum measures competence (spec v2, "Competence"): `candidates` (default) — the
 * reward accuracy of each stratum's scored pool candidates not yet trained on (all of them once
 * every one has been trained on), from the pool's own scoring pass, nothing held out; `probe` —
 * the first spec version: `probeSize` probe pairs per stratum, held out of training and scored
 * with extra forward passes.
 */
export type CompetenceMode = CurriculumConfig["competence"];

const posInt = expecting("an integer ≥ 1");
const nonNegative = expecting("a finite number ≥ 0");

const curriculumFields = {
  /** B: pairs per training step. Not fixed by the spec. */
  batchSize: z.number(posInt).int(posInt).min(1, posInt).default(32),
  /** R: refresh the pool every R steps. */
  refreshEvery: z.number(posInt).int(posInt).min(1, posInt).default(25),
  /** P: pool size; `null` means `2 · B · R` (capped by what exists). */
  poolSize: z
    .number(expecting("null or an integer ≥ 1"))
    .int(expecting("null or an integer ≥ 1"))
    .min(1, expecting("null or an integer ≥ 1"))
    .nullable()
    .default(null),
  /** Number of difficulty strata (equal-count quantile buckets, easiest first). */
  nStrata: z.number(posInt).int(posInt).min(1, posInt).default(4),
  /** Where competence is measured: pool candidates (default, nothing held out) or held-out probes. */
  competence: z.enum(["candidates", "probe"], expecting('"candidates" or "probe"')).default("candidates"),
  /** Probe pairs held out per stratum (at most half of a stratum); used only with `competence: "probe"`. */
  probeSize: z
    .number(expecting("an integer ≥ 0"))
    .int(expecting("an integer ≥ 0"))
    .min(0, expecting("an integer ≥ 0"))
    .default(64),
  /** Competence of the highest unlocked stratum that unlocks the next one. */
  cAdv: z
    .number(expecting("a number in [0, 1]"))
    .min(0, expecting("a number in [0, 1]"))
    .max(1, expecting("a number in [0, 1]"))
    .default(0.7),
  /** Refreshes without advancing after which the next stratum unlocks anyway. */
  maxRefreshes: z.number(posInt).int(posInt).min(1, posInt).default(4),
  /** Gumbel-top-k temperature τ (0 = deterministic top-k). */
  tau: z.number(nonNegative).min(0, nonNegative).default(1),
  /** Temperature for `hard-mining` and `small-margin` (0 = pure top-k: "the highest"). */
  baselineTau: z.number(nonNegative).min(0, nonNegative).default(0),
  /** Fraction kept by `selective` (easiest by reference loss). */
  selectiveKeep: z
    .number(expecting("a number in (0, 1]"))
    .gt(0, expecting("a number in (0, 1]"))
    .max(1, expecting("a number in (0, 1]"))
    .default(0.5),
  /** Perturbation scheme for μ and s. */
  perturbation: z
    .enum(
      ["token-dropout", "policy-dropout", "history", "none"],
      expecting('"token-dropout", "policy-dropout", "history" or "none"'),
    )
    .default("token-dropout"),
  /** Dataset level range mapped to difficulty `(level − levelMin) / (levelMax − levelMin)` (levelMax > levelMin). */
  levelMin: z.number(expecting("a finite number")).default(1),
  levelMax: z.number(expecting("a finite number")).default(5),
  /** Seed of every random choice (strata tie-breaks, probes, pools, Gumbel keys, masks). */
  seed: z
    .number(expecting("a non-negative safe integer"))
    .int(expecting("a non-negative safe integer"))
    .min(0, expecting("a non-negative safe integer"))
    .max(Number.MAX_SAFE_INTEGER, expecting("a non-negative safe integer"))
    .default(0),
};

/**
 * Schema of the selection configuration: every field's check and its default (the spec's), with
 * `stability` from `@sage/stability`. Unknown fields are rejected. One check is not in the schema
 * (so that `.omit()` keeps working): `levelMax > levelMin`, made by `resolveCurriculumConfig`.
 */
export const curriculumConfigSchema = settingsObject({
  ...curriculumFields,
  /** Fine-level settings (see `@sage/stability`). */
  stability: stabilityConfigSchema.prefault({}),
});

/**
 * What a caller (a config file) may set: every field optional, defaults not filled in, unknown
 * fields rejected; `stability` is `@sage/stability`'s `stabilityConfigInputSchema`.
 */
export const curriculumConfigInputSchema = settingsObject({
  ...optionalSettings(curriculumFields),
  stability: stabilityConfigInputSchema.optional(),
});

/** Selection configuration; every field has the spec's default (`DEFAULT_CURRICULUM_CONFIG`). */
export type CurriculumConfig = Readonly<Omit<z.output<typeof curriculumConfigSchema>, "stability">> & {
  /** Fine-level settings (see `@sage/stability`). */
  readonly stability: StabilityConfig;
};

/** Input form: every field optional, `stability` partial. */
export type CurriculumConfigInput = Partial<Omit<CurriculumConfig, "stability">> & {
  readonly stability?: Partial<StabilityConfig>;
};

export const DEFAULT_CURRICULUM_CONFIG: CurriculumConfig = Object.freeze(curriculumConfigSchema.parse({}));

/** Fill defaults and validate with `curriculumConfigSchema` (then `levelMax > levelMin`); unknown keys are rejected. */
export function resolveCurriculumConfig(input: CurriculumConfigInput = {}): CurriculumConfig {
  const parsed = curriculumConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = firstSettingIssue(parsed.error, input);
    const [head, ...rest] = issue.field.split(".");
    // a stability field reads as `@sage/stability` says it: `"stability": stability config "k": …`
    const text =
      head === "stability" && rest.length + (issue.unknownKeys ? 1 : 0) > 0
        ? `curriculum config "stability": ${describeSettingIssue("stability config", { ...issue, field: rest.join(".") })}`
        : describeSettingIssue("curriculum config", issue);
    throw new CurriculumError("CONFIG_INVALID", text);
  }
  const c = parsed.data;
  if (!(c.levelMax > c.levelMin)) {
    throw CurriculumError.mismatch(
      "CONFIG_INVALID",
      'curriculum config "levelMin/levelMax"',
      "finite with levelMax > levelMin",
      [c.levelMin, c.levelMax],
    );
  }
  return c;
}

/** The effective pool size `P` (before capping by what exists). */
export function poolSizeOf(c: CurriculumConfig): number {
  return c.poolSize ?? 2 * c.batchSize * c.refreshEvery;
}
