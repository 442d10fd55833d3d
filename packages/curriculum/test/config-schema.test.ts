import { describe, expect, it } from "vitest";
import {
  CurriculumError,
  curriculumConfigInputSchema,
  curriculumConfigSchema,
  DEFAULT_CURRICULUM_CONFIG,
  resolveCurriculumConfig,
  SELECTOR_NAMES,
  selectorNameSchema,
} from "../src/index.js";

// The zod schema is the one source of the selection settings (with `@sage/stability`'s for
// `stability`): defaults, checks, and the input form a config file uses.

describe("curriculumConfigSchema", () => {
  it("holds the defaults, stability included", () => {
    expect(DEFAULT_CURRICULUM_CONFIG).toEqual(curriculumConfigSchema.parse({}));
    expect(resolveCurriculumConfig()).toEqual(DEFAULT_CURRICULUM_CONFIG);
    expect(resolveCurriculumConfig({ stability: { k: 8 } }).stability).toMatchObject({ k: 8, rho: 0.1 });
  });

  it("the input schema fills no defaults, nested stability included", () => {
    expect(curriculumConfigInputSchema.parse({})).toEqual({});
    expect(curriculumConfigInputSchema.parse({ stability: {} })).toEqual({ stability: {} });
    expect(curriculumConfigInputSchema.safeParse({ stability: { gMin: 1 } }).success).toBe(false);
    expect(
      curriculumConfigInputSchema.safeParse({ stability: { mCap: Number.POSITIVE_INFINITY } }).success,
    ).toBe(true);
  });

  it("levelMax > levelMin is checked on resolve", () => {
    expect(() => resolveCurriculumConfig({ levelMin: 5, levelMax: 5 })).toThrow(
      'curriculum config "levelMin/levelMax": expected finite with levelMax > levelMin, received [5,5]',
    );
    expect(resolveCurriculumConfig({ levelMin: 0, levelMax: 1 }).levelMax).toBe(1);
  });

  it("errors name the field (nested stability ones as @sage/stability does)", () => {
    expect(() => resolveCurriculumConfig({ poolSize: 0 })).toThrow(
      'curriculum config "poolSize": expected null or an integer ≥ 1, received 0',
    );
    expect(() => resolveCurriculumConfig({ stability: { bogus: 1 } as never })).toThrow(
      'curriculum config "stability": unknown stability config field "bogus"; expected one of beta,',
    );
    expect(() => resolveCurriculumConfig({ stability: 5 as never })).toThrow(
      'curriculum config "stability": expected an object of settings, received 5',
    );
    let err: unknown;
    try {
      resolveCurriculumConfig({ seed: -1 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CurriculumError);
    expect((err as CurriculumError).code).toBe("CONFIG_INVALID");
  });

  it("selectorNameSchema accepts exactly SELECTOR_NAMES", () => {
    for (const name of SELECTOR_NAMES) expect(selectorNameSchema.parse(name)).toBe(name);
    const bad = selectorNameSchema.safeParse("best");
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toBe(`expected one of ${SELECTOR_NAMES.join(", ")}`);
  });
});
