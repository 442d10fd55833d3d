import {
  curriculumConfigInputSchema,
  curriculumConfigSchema as packageCurriculumSchema,
  resolveCurriculumConfig,
} from "@sage/curriculum";
import {
  stabilityConfigSchema as packageStabilitySchema,
  resolveStabilityConfig,
  stabilityConfigInputSchema,
} from "@sage/stability";
import { dpoTrainConfigSchema, parseDpoTrainConfig } from "@sage/trainer";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { validateConfig } from "../src/config.js";
import {
  curriculumConfigSchema,
  selectConfigSchema,
  stabilityConfigSchema,
  trainConfigSchema,
} from "../src/schemas.js";

// The CLI's config schemas are the packages' own: whatever a selector or the trainer accepts, a
// config file accepts, and nothing else. Every field of the packages' schemas is probed with the
// same values (fields added later are probed too).

const PROBES: readonly unknown[] = [
  -1,
  0,
  0.01,
  0.5,
  0.99,
  1,
  1.5,
  2,
  64,
  2 ** 53,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.NaN,
  null,
  true,
  false,
  "1",
  "policy",
  "implicit",
  "pool",
  "raw",
  "candidates",
  "probe",
  "token-dropout",
  "policy-dropout",
  "history",
  "none",
  {},
  [],
];

const ok = (f: () => unknown): boolean => {
  try {
    f();
    return true;
  } catch {
    return false;
  }
};

/** `levelMax > levelMin` is checked by `resolveCurriculumConfig`, not per field: keep it true. */
function levelsHold(field: string, v: unknown): boolean {
  if (typeof v !== "number") return true;
  if (field === "levelMin") return v < 5;
  if (field === "levelMax") return v > 1;
  return true;
}

describe("CLI config schemas are the packages' schemas", () => {
  it("the CLI composes the packages' input schemas (no copy)", () => {
    expect(stabilityConfigSchema).toBe(stabilityConfigInputSchema);
    expect(curriculumConfigSchema).toBe(curriculumConfigInputSchema);
    expect(Object.keys(curriculumConfigSchema.shape).sort()).toEqual(
      Object.keys(packageCurriculumSchema.shape).sort(),
    );
    expect(Object.keys(stabilityConfigSchema.shape).sort()).toEqual(
      Object.keys(packageStabilitySchema.shape).sort(),
    );
  });

  it("`sage select` accepts a curriculum field exactly when resolveCurriculumConfig does", () => {
    const mismatches: string[] = [];
    for (const field of Object.keys(packageCurriculumSchema.shape)) {
      if (field === "stability") continue;
      for (const v of PROBES) {
        if (!levelsHold(field, v)) continue;
        const cli = selectConfigSchema.safeParse({ curriculum: { [field]: v } }).success;
        const lib = ok(() => resolveCurriculumConfig({ [field]: v }));
        if (cli !== lib) mismatches.push(`${field}=${String(v)}: cli ${cli}, library ${lib}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it("`sage select` and `sage train` accept a stability field exactly when resolveStabilityConfig does", () => {
    const mismatches: string[] = [];
    for (const field of Object.keys(packageStabilitySchema.shape)) {
      for (const v of PROBES) {
        const lib = ok(() => resolveStabilityConfig({ [field]: v }));
        const viaCurriculum = ok(() => resolveCurriculumConfig({ stability: { [field]: v } }));
        const select = selectConfigSchema.safeParse({ curriculum: { stability: { [field]: v } } }).success;
        const at = `${field}=${String(v)}`;
        if (viaCurriculum !== lib) mismatches.push(`${at}: curriculum ${viaCurriculum}, stability ${lib}`);
        if (select !== lib) mismatches.push(`${at}: select ${select}, stability ${lib}`);
        if (field === "beta") {
          // β is set once, in `train.beta`: the trainer's field is the stability field
          const train = trainConfigSchema.safeParse({ train: { beta: v } }).success;
          const trainer = ok(() => parseDpoTrainConfig({ steps: 1, beta: v }));
          if (train !== lib) mismatches.push(`train.beta=${String(v)}: train ${train}, stability ${lib}`);
          if (trainer !== lib) mismatches.push(`beta=${String(v)}: trainer ${trainer}, stability ${lib}`);
        } else {
          const train = trainConfigSchema.safeParse({ curriculum: { stability: { [field]: v } } }).success;
          if (train !== lib) mismatches.push(`${at}: train ${train}, stability ${lib}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it("every rejection says what was expected (no bare zod message)", () => {
    const bare: string[] = [];
    const probe = (config: unknown) => {
      try {
        validateConfig(config, selectConfigSchema, "s.yaml");
      } catch (e) {
        const m = (e as Error).message;
        if (!/: field "[^"]+": (expected|unknown field) .*; received /.test(m)) bare.push(m);
      }
    };
    for (const v of PROBES) {
      for (const field of Object.keys(packageCurriculumSchema.shape)) probe({ curriculum: { [field]: v } });
      for (const field of Object.keys(packageStabilitySchema.shape)) {
        probe({ curriculum: { stability: { [field]: v } } });
      }
    }
    expect(bare).toEqual([]);
  });

  it("mCap: Infinity (YAML .inf) means no cap everywhere; gMin: 1 is rejected everywhere", () => {
    const inf = parseYaml("curriculum: { stability: { mCap: .inf } }\n");
    expect(validateConfig(inf, selectConfigSchema, "s.yaml").curriculum?.stability?.mCap).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(validateConfig(inf, trainConfigSchema, "t.yaml").curriculum?.stability?.mCap).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(resolveStabilityConfig({ mCap: Number.POSITIVE_INFINITY }).mCap).toBe(Number.POSITIVE_INFINITY);

    const one = { curriculum: { stability: { gMin: 1 } } };
    expect(() => validateConfig(one, selectConfigSchema, "s.yaml")).toThrow(
      's.yaml: field "curriculum.stability.gMin": expected a number in [0, 1); received 1',
    );
    expect(() => validateConfig(one, trainConfigSchema, "t.yaml")).toThrow(
      't.yaml: field "curriculum.stability.gMin": expected a number in [0, 1); received 1',
    );
    expect(() => resolveStabilityConfig({ gMin: 1 })).toThrow(
      'stability config "gMin": expected a number in [0, 1), received 1',
    );
    expect(() => resolveCurriculumConfig({ stability: { gMin: 1 } })).toThrow(
      'curriculum config "stability": stability config "gMin": expected a number in [0, 1), received 1',
    );
  });

  it("a config file's fields are not filled with defaults (the selector resolves them)", () => {
    expect(selectConfigSchema.parse({ curriculum: { stability: {} } })).toEqual({
      curriculum: { stability: {} },
    });
    expect(trainConfigSchema.parse({ curriculum: {} })).toEqual({ curriculum: {} });
  });

  it("β has one default and one check: the trainer's beta is @sage/stability's field", () => {
    expect(dpoTrainConfigSchema.shape.beta).toBe(packageStabilitySchema.shape.beta);
    expect(parseDpoTrainConfig({ steps: 1 }).beta).toBe(resolveStabilityConfig().beta);
    // in `sage train` β is set once, in train.beta; batchSize likewise
    expect(() =>
      validateConfig({ curriculum: { stability: { beta: 0.1 } } }, trainConfigSchema, "t.yaml"),
    ).toThrow(/t\.yaml: field "curriculum\.stability": unknown field "beta"; expected one of errorMargin/);
    expect(() => validateConfig({ curriculum: { batchSize: 8 } }, trainConfigSchema, "t.yaml")).toThrow(
      /unknown field "batchSize"; expected one of refreshEvery/,
    );
  });

  it("unknown fields and wrong types name the field, what was expected and what was received", () => {
    expect(() =>
      validateConfig({ curriculum: { stability: { bogus: 1 } } }, selectConfigSchema, "s.yaml"),
    ).toThrow(
      /s\.yaml: field "curriculum\.stability": unknown field "bogus"; expected one of beta, errorMargin/,
    );
    expect(() => validateConfig({ curriculum: { cAdv: "high" } }, selectConfigSchema, "s.yaml")).toThrow(
      's.yaml: field "curriculum.cAdv": expected a number in [0, 1]; received "high"',
    );
    expect(() => validateConfig({ selector: "best" }, selectConfigSchema, "s.yaml")).toThrow(
      /s\.yaml: field "selector": expected one of sage, uniform, .*; received "best"/,
    );
  });
});
