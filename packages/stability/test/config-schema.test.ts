import { describe, expect, it } from "vitest";
import {
  DEFAULT_STABILITY_CONFIG,
  resolveStabilityConfig,
  StabilityError,
  stabilityConfigInputSchema,
  stabilityConfigSchema,
} from "../src/index.js";

// The zod schema is the one source of the stability settings: its defaults, its checks, and the
// input form a config file uses.

describe("stabilityConfigSchema", () => {
  it("holds the defaults: DEFAULT_STABILITY_CONFIG and resolveStabilityConfig() are its parse of {}", () => {
    expect(DEFAULT_STABILITY_CONFIG).toEqual(stabilityConfigSchema.parse({}));
    expect(resolveStabilityConfig()).toEqual(DEFAULT_STABILITY_CONFIG);
    expect(Object.isFrozen(DEFAULT_STABILITY_CONFIG)).toBe(true);
  });

  it("the input schema has the same fields and checks but fills no defaults", () => {
    expect(Object.keys(stabilityConfigInputSchema.shape)).toEqual(Object.keys(stabilityConfigSchema.shape));
    expect(stabilityConfigInputSchema.parse({})).toEqual({});
    expect(stabilityConfigInputSchema.parse({ k: 8 })).toEqual({ k: 8 });
    expect(stabilityConfigInputSchema.safeParse({ k: 0 }).success).toBe(false);
    expect(stabilityConfigInputSchema.safeParse({ bogus: 1 }).success).toBe(false);
  });

  it("mCap: Infinity is 'no cap'; -Infinity, 0 and NaN are not", () => {
    expect(resolveStabilityConfig({ mCap: Number.POSITIVE_INFINITY }).mCap).toBe(Number.POSITIVE_INFINITY);
    for (const bad of [Number.NEGATIVE_INFINITY, 0, Number.NaN]) {
      expect(() => resolveStabilityConfig({ mCap: bad })).toThrow(
        /stability config "mCap": expected a number > 0 \(Infinity = no cap\), received/,
      );
    }
  });

  it("gMin is in [0, 1): 1 is rejected with the field, the range and the value", () => {
    expect(resolveStabilityConfig({ gMin: 0 }).gMin).toBe(0);
    expect(() => resolveStabilityConfig({ gMin: 1 })).toThrow(
      'stability config "gMin": expected a number in [0, 1), received 1',
    );
  });

  it("wrong types and unknown fields are typed errors saying what was expected and received", () => {
    let err: unknown;
    try {
      resolveStabilityConfig({ beta: "0.1" } as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StabilityError);
    expect((err as StabilityError).code).toBe("CONFIG_INVALID");
    expect((err as Error).message).toBe(
      'stability config "beta": expected a finite number > 0, received "0.1"',
    );
    expect(() => resolveStabilityConfig({ kk: 4 } as never)).toThrow(
      'unknown stability config field "kk"; expected one of beta, errorMargin, lengthNormalize, k, rho, zMin, gMin, alpha, s0, mCap, scale',
    );
    expect(() => resolveStabilityConfig(5 as never)).toThrow(
      "stability config: expected an object of settings, received 5",
    );
  });
});
