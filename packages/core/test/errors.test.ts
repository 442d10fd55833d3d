import { describe, expect, it } from "vitest";
import {
  describeValue,
  type ErrorCode,
  INPUT_ERROR_CODES,
  isInputError,
  mismatchMessage,
  SageError,
} from "../src/index.js";

describe("SageError and the code vocabulary", () => {
  it("keeps code, message, cause and instanceof Error", () => {
    const cause = new Error("disk");
    const e = new SageError("IO_FAILED", "could not write x", { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("SageError");
    expect(e.code).toBe("IO_FAILED");
    expect(e.message).toBe("could not write x");
    expect(e.cause).toBe(cause);
  });

  it("a subclass keeps its own name and instanceof", () => {
    class PackageError extends SageError {
      override readonly name = "PackageError";
    }
    const e = new PackageError("CONFIG_INVALID", "bad");
    expect(e).toBeInstanceOf(SageError);
    expect(e).toBeInstanceOf(PackageError);
    expect(e.name).toBe("PackageError");
    expect(isInputError(e)).toBe(true);
  });

  it("every input code is NOUN_STATE in upper snake case", () => {
    for (const code of INPUT_ERROR_CODES) expect(code).toMatch(/^[A-Z0-9]+(_[A-Z0-9]+)+$/);
  });

  it.each<[ErrorCode, boolean]>([
    ["CONFIG_INVALID", true],
    ["INPUT_INVALID", true],
    ["DATA_INVALID", true],
    ["DATA_EMPTY", true],
    ["USAGE_INVALID", true],
    ["JSONL_INVALID", true],
    ["CHECKPOINT_MISSING", true],
    ["ARGUMENT_INVALID", true],
    ["RNG_STATE_INVALID", true],
    ["IO_FAILED", false],
    ["DEVICE_LOST", false],
    ["GPU_VALIDATION_FAILED", false],
    ["SHAPE_MISMATCH", false],
    ["STATE_INVALID", false],
    ["INTERNAL_ERROR", false],
  ])("isInputError(%s) is %s", (code, input) => {
    expect(isInputError(new SageError(code, "m"))).toBe(input);
  });

  it("anything that is not a SageError is not an input error", () => {
    expect(isInputError(new Error("x"))).toBe(false);
    expect(isInputError(Object.assign(new Error("x"), { code: "CONFIG_INVALID" }))).toBe(false);
    expect(isInputError("CONFIG_INVALID")).toBe(false);
    expect(isInputError(undefined)).toBe(false);
  });
});

describe("describeValue", () => {
  it("renders received values readably and cuts them", () => {
    expect(describeValue("a")).toBe('"a"');
    expect(describeValue(Number.NaN)).toBe("NaN");
    expect(describeValue(undefined)).toBe("undefined");
    expect(describeValue(10n)).toBe("10");
    expect(describeValue({ a: [1, 2] })).toBe('{"a":[1,2]}');
    expect(describeValue(new Float32Array(3))).toBe("Float32Array(3)");
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(describeValue(cyclic)).toBe("[object Object]");
    expect(describeValue("x".repeat(200), 10)).toBe(`"${"x".repeat(9)}…`);
  });

  it("mismatchMessage says what was expected and what was received", () => {
    expect(mismatchMessage("steps", "an integer ≥ 1", -2)).toBe(
      "steps: expected an integer ≥ 1, received -2",
    );
  });
});
