import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildVectors, VECTORS_FILE } from "./vectors/generate.js";

const here = dirname(fileURLToPath(import.meta.url));
const PYTHON_REFERENCE = join(here, "..", "python", "sage_token_dropout.py");

/** Is there a python3? In CI (CI=true) its absence fails the tests below instead of skipping them. */
const python = spawnSync("python3", ["--version"], { encoding: "utf8" });
const hasPython = python.status === 0;
const runPython = hasPython || process.env.CI === "true";

function checkWithPython(file: string) {
  return spawnSync("python3", [PYTHON_REFERENCE, file], { encoding: "utf8" });
}

describe("token-dropout test vectors", () => {
  it("the committed JSON is what the TypeScript implementation generates (regenerate with generate.ts)", () => {
    // compared as parsed JSON (the file is formatted by biome); numbers are compared exactly
    expect(JSON.parse(readFileSync(VECTORS_FILE, "utf8"))).toStrictEqual(buildVectors());
  });

  it("the vectors cover the keep-one fallback, 64-bit seeds and pair keys, and both sides", () => {
    const v = JSON.parse(readFileSync(VECTORS_FILE, "utf8")) as {
      masks: { rho: number; seed: number; pair_key: number; side: number; masks: string[] }[];
    };
    // a mask row keeping exactly one token where ρ = 0.95 drops almost everything
    expect(v.masks.some((c) => c.rho > 0.9 && c.masks.some((r) => r.split("1").length === 2))).toBe(true);
    expect(v.masks.some((c) => c.seed >= 2 ** 32)).toBe(true);
    expect(v.masks.some((c) => c.pair_key >= 2 ** 32)).toBe(true);
    expect(new Set(v.masks.map((c) => c.side))).toEqual(new Set([0, 1]));
  });
});

describe.runIf(runPython)("Python reference (python/sage_token_dropout.py, stdlib only)", () => {
  it("python3 is installed", () => {
    expect(hasPython, `python3 --version failed: ${python.error?.message ?? python.stderr}`).toBe(true);
  });

  it("reproduces every vector bit for bit", () => {
    const r = checkWithPython(VECTORS_FILE);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^33 vector groups checked, 0 mismatches/);
  });

  it("fails on a vector that differs in one mask bit or one weight ulp", () => {
    const dir = mkdtempSync(join(tmpdir(), "sage-vectors-"));
    const v = JSON.parse(readFileSync(VECTORS_FILE, "utf8"));
    const row: string = v.masks[2].masks[0];
    v.masks[2].masks[0] = `${row[0] === "1" ? "0" : "1"}${row.slice(1)}`;
    const w = v.masks[0].weights[0] as number[];
    const t = w.findIndex((x) => x > 0);
    w[t] = w[t]! * (1 + 2 ** -52);
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify(v));
    const r = checkWithPython(file);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("masks(37, 4, 0.1, 7, 123, 0)");
    expect(r.stderr).toContain("weights(12, 4, 0.1, 0, 0, 0)");
  });
});
