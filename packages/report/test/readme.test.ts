import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { writeReport } from "../src/index.js";

describe("README example", () => {
  it("runs as written and its verdict is what the comment says", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sage-report-readme-"));
    try {
      const point = (step: number, accuracy: number) => ({ step, wallMs: step * 120, accuracy });
      const runs = [
        { method: "uniform", seed: 1, points: [point(0, 0.1), point(100, 0.4), point(200, 0.55)] },
        { method: "sage", seed: 1, points: [point(0, 0.1), point(100, 0.5), point(200, 0.6)] },
      ];
      const input = { title: "demo", adapter: "llvmpipe", machine: "2-core", config: {}, runs, target: 0.45 };
      const out = await writeReport(input, join(dir, "out/report"));
      expect(out.verdict).toMatch(
        /^On final pass@1 \(1 seed per method, .*\), sage did not clearly beat uniform/,
      );
      // sage crosses 0.45 halfway between steps 0 and 100 (0.1 → 0.5: 87.5 steps); uniform at 133.3
      expect(out.summary.methods[1]!.stepsRatio!.value).toBeCloseTo(87.5 / (100 + 100 / 3), 9);
      expect((await readFile(out.html, "utf8")).startsWith("<!DOCTYPE html>")).toBe(true);
      expect(out.pngs).toHaveLength(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
