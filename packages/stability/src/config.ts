import { z } from "zod";
import { describeValue, StabilityError } from "./errors.js";

/** `{ error }` for every check of a setting: its issues read `expected <what>`. */
const expecting = (what: string) => ({ error: `expected ${what}` });

/**
 * A strict object of settings: an unknown field is an issue that names it and lists the known
 * ones (of the schema that raised it, so `.omit()`/`.extend()` stay correct); a value that is not
 * an object reads `expected an object of settings`.
 */
export function settingsObject<T extends z.core.$ZodLooseShape>(shape: T) {
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === "unrecognized_keys") {
        const known = issue.inst instanceof z.ZodObject ? Object.keys(issue.inst.shape) : [];
        const keys = issue.keys.map((k) => describeValue(k)).join(", ");
        return `unknown field ${keys}; expected one of ${known.join(", ")}`;
      }
      return issue.code === "invalid_type" ? "expected an object of settings" : undefined;
    },
  });
}

/** A shape's fields as a caller may set them: each optional, its `.default()` not filled in. */
export type OptionalSettings<S extends z.core.$ZodLooseShape> = {
  [K in keyof S]: z.ZodOptional<S[K] extends z.ZodDefault<infer I> ? I : S[K]>;
};

/**
 * The fields of `shape` without their defaults, each optional: what a config file may set, to be
 * resolved later (zod's `.partial()` would still fill the defaults in).
 */
export function optionalSettings<S extends z.core.$ZodLooseShape>(shape: S): OptionalSettings<S> {
  const out: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(shape)) {
    const f = field as z.ZodType;
    out[key] = (f instanceof z.ZodDefault ? (f.unwrap() as z.ZodType) : f).optional();
  }
  return out as OptionalSettings<S>;
}

/** The first issue of a failed settings parse: dotted field, zod's message, the value received. */
export interface SettingIssue {
  /** Dotted path of the field (`""` for the object itself). */
  readonly field: string;
  /** `expected …` (or `unknown field …; expected one of …`). */
  readonly message: string;
  readonly received: unknown;
  /** Set when the issue is unknown fields: their names. */
  readonly unknownKeys?: readonly string[];
}

/** The first issue of `error`, a failed parse of `input`, with the value it was about. */
export function firstSettingIssue(error: z.ZodError, input: unknown): SettingIssue {
  const issue = error.issues[0]!;
  let received: unknown = input;
  for (const key of issue.path) {
    received =
      received !== null && typeof received === "object"
        ? (received as Record<PropertyKey, unknown>)[key]
        : undefined;
  }
  const field = issue.path.map(String).join(".");
  return issue.code === "unrecognized_keys"
    ? { field, message: issue.message, received, unknownKeys: issue.keys }
    : { field, message: issue.message, received };
}

/**
 * `<what> "<field>": expected …, received …`, or for unknown fields
 * `unknown <what> field "x"; expected one of …` — the message of a failed settings parse.
 */
export function describeSettingIssue(what: string, issue: SettingIssue): string {
  const where = issue.field === "" ? what : `${what} "${issue.field}"`;
  if (issue.unknownKeys) return `unknown ${where} field ${issue.message.replace(/^unknown field /, "")}`;
  return `${where}: ${issue.message}, received ${describeValue(issue.received)}`;
}

const MCAP = "a number > 0 (Infinity = no cap)";

const stabilityFields = {
  /** DPO β in `m = β (r(y_w) − r(y_l))`. Not fixed by the spec; 0.1 is the common DPO default. The one default of β: `@sage/trainer`'s `beta` is this field. */
  beta: z.number(expecting("a finite number > 0")).positive(expecting("a finite number > 0")).default(0.1),
  /** Error margin ranking pairs: `policy` (length-normalised policy preference) or `implicit` (`m`). */
  errorMargin: z.enum(["policy", "implicit"], expecting('"policy" or "implicit"')).default("policy"),
  /** Divide sequence log-probs by token counts before computing the implicit margin `m`. */
  lengthNormalize: z.boolean(expecting("a boolean")).default(false),
  /** Number of perturbed error margins K. */
  k: z
    .number(expecting("an integer ≥ 1"))
    .int(expecting("an integer ≥ 1"))
    .min(1, expecting("an integer ≥ 1"))
    .default(4),
  /** Token-dropout probability ρ. */
  rho: z
    .number(expecting("a number in [0, 1)"))
    .min(0, expecting("a number in [0, 1)"))
    .lt(1, expecting("a number in [0, 1)"))
    .default(0.1),
  /** Unstable filter `|μ| < z_min · s` (0 = off). */
  zMin: z.number(expecting("a finite number ≥ 0")).min(0, expecting("a finite number ≥ 0")).default(0),
  /** Trivial filter `σ(−m) < g_min`. */
  gMin: z
    .number(expecting("a number in [0, 1)"))
    .min(0, expecting("a number in [0, 1)"))
    .lt(1, expecting("a number in [0, 1)"))
    .default(0.02),
  /** Weight α of the noise term (`−α·ẑ(b)` with `scale: "pool"`, `−α·b` with `"raw"`; `b = log(s + s0)`). */
  alpha: z.number(expecting("a finite number ≥ 0")).min(0, expecting("a finite number ≥ 0")).default(1),
  /** Noise floor s0 (margin units). */
  s0: z.number(expecting("a finite number > 0")).positive(expecting("a finite number > 0")).default(0.05),
  /** Cap on `−μ` in the score; `Infinity` (YAML `.inf`) = no cap. */
  mCap: z
    .union(
      [
        z.number(expecting(MCAP)).positive(expecting(MCAP)),
        z.literal(Number.POSITIVE_INFINITY, expecting(MCAP)),
      ],
      expecting(MCAP),
    )
    .default(8),
  /** `pool`: standardise both score terms over the pool (default); `raw`: the v1 sum. */
  scale: z.enum(["pool", "raw"], expecting('"pool" or "raw"')).default("pool"),
};

/**
 * Schema of the fine-level configuration: every field's check and its default (the spec's).
 * Unknown fields are rejected. `resolveStabilityConfig` parses with it.
 */
export const stabilityConfigSchema = settingsObject(stabilityFields);

/**
 * What a caller (a config file) may set: every field optional, defaults not filled in, unknown
 * fields rejected. The same checks as `stabilityConfigSchema`.
 */
export const stabilityConfigInputSchema = settingsObject(optionalSettings(stabilityFields));

/** Fine-level configuration; every field has the spec's default (`DEFAULT_STABILITY_CONFIG`). */
export type StabilityConfig = Readonly<z.output<typeof stabilityConfigSchema>>;

/** Which margin measures an error (spec, "Which margin measures an error"). */
export type ErrorMarginSource = StabilityConfig["errorMargin"];

/**
 * How the score's two terms are combined (spec v2, "Score"): `pool` (default) standardises each
 * term over the current pool with a robust z-score before `S = ẑ(a) − α·ẑ(b)`; `raw` is the
 * first spec version's unstandardised `S = a − α·b`, kept as an ablation.
 */
export type ScoreScale = StabilityConfig["scale"];

export const DEFAULT_STABILITY_CONFIG: StabilityConfig = Object.freeze(stabilityConfigSchema.parse({}));

/** Fill defaults and validate ranges with `stabilityConfigSchema`; unknown keys are rejected. */
export function resolveStabilityConfig(partial: Partial<StabilityConfig> = {}): StabilityConfig {
  const parsed = stabilityConfigSchema.safeParse(partial);
  if (!parsed.success) {
    const issue = firstSettingIssue(parsed.error, partial);
    throw new StabilityError("CONFIG_INVALID", describeSettingIssue("stability config", issue));
  }
  return parsed.data;
}
