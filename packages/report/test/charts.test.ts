import { describe, expect, it } from "vitest";
import { chartSpecs, type RunSeries, renderSvg } from "../src/index.js";
import { syntheticRuns } from "./synthetic.js";

const plain = (wallScale: number): RunSeries[] => [
  {
    method: "uniform",
    seed: 1,
    points: [
      { step: 0, wallMs: 0, accuracy: 0.1 },
      { step: 10, wallMs: 10 * wallScale, accuracy: 0.3 },
    ],
  },
];

describe("chartSpecs", () => {
  it("has all five charts when the runs have strata, frontier and SNR", () => {
    expect(chartSpecs(syntheticRuns()).map((c) => c.name)).toEqual([
      "accuracy-steps",
      "accuracy-wall",
      "strata-steps",
      "frontier",
      "snr",
    ]);
  });

  it("leaves out the charts the data cannot support", () => {
    expect(chartSpecs(plain(1000)).map((c) => c.name)).toEqual(["accuracy-steps", "accuracy-wall"]);
  });

  it("captions say what was run: a band only with ≥ 2 seeds, the SNR axis named, the frontier from step 0", () => {
    const many = chartSpecs(syntheticRuns());
    expect(many[0]!.title).toMatch(/mean over seeds, 95% t band/);
    const one = chartSpecs(syntheticRuns().filter((r) => r.seed === syntheticRuns()[0]!.seed));
    for (const c of one) expect(c.title, c.name).not.toMatch(/% t band|mean over seeds/);
    expect(one[0]!.title).toContain("one seed per method, no band");
    const snr = JSON.stringify(many.find((c) => c.name === "snr")!.spec);
    expect(snr).toContain("gradient SNR");
    const frontier = many.find((c) => c.name === "frontier")!.spec as {
      encoding: { x: { scale: { domain: number[] } } };
    };
    expect(frontier.encoding.x.scale.domain[0]).toBe(0);
    const rows = (frontier as unknown as { data: { values: { step: number; mean: number }[] } }).data.values;
    expect(rows[0]).toMatchObject({ step: 0, mean: 0 });
  });

  it("picks the wall-clock unit by range", () => {
    const title = (runs: RunSeries[]) =>
      JSON.stringify(chartSpecs(runs)[1]!.spec).match(/wall-clock \((\w+)\)/)![1];
    expect(title(plain(1000))).toBe("s"); // 10 s
    expect(title(plain(600_000))).toBe("min"); // 100 min
    expect(title(plain(3_600_000))).toBe("h"); // 10 h
  });

  it("uses one colour domain (all methods, input order) in every chart", () => {
    for (const c of chartSpecs(syntheticRuns())) {
      expect(JSON.stringify(c.spec)).toContain('"domain":["uniform","hard-mining","sage"]');
    }
  });

  it("renders SVG with ids renumbered under the prefix, identical on every call", async () => {
    // a clipped mark makes vega emit a clip-path id from a process-wide counter (clip1, clip2, …)
    const spec = {
      data: {
        values: [
          { x: 0, y: 1 },
          { x: 2, y: 3 },
        ],
      },
      mark: { type: "line" as const, clip: true },
      encoding: {
        x: { field: "x", type: "quantitative" as const, scale: { domain: [0, 1] } },
        y: { field: "y", type: "quantitative" as const },
      },
    };
    const a = await renderSvg(spec, "p");
    const b = await renderSvg(spec, "p");
    expect(a.startsWith("<svg")).toBe(true);
    expect(a).toBe(b);
    expect([...a.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1])).toEqual(["p-1"]);
    expect([...a.matchAll(/url\(#([^)]+)\)/g)].map((m) => m[1])).toEqual(["p-1"]);
  });
});
