import { describe, expect, it } from "vitest";
import {
  armEndpointsTable,
  type ConvergenceEndpoints,
  convergenceEndpoints,
  endpointsHtml,
  endpointsVerdict,
  type RunSeries,
  renderHtml,
  summarizeRuns,
} from "../src/index.js";
import { syntheticRuns } from "./synthetic.js";

const design = { candidates: 2400, batchSize: 8, tuningSeeds: [100] };
const SEEDS = [1, 2, 3, 4, 5];

/** The synthetic runs' endpoints at target 0.5 (sage's curve rises faster: it reaches it sooner). */
function endpoints(runs: RunSeries[] = syntheticRuns(SEEDS), noise = false): ConvergenceEndpoints {
  return convergenceEndpoints(runs, {
    target: 0.5,
    methods: ["hard-mining", "sage"],
    design,
    resamples: 200,
    ...(noise
      ? {
          noiseArm: {
            runs: runs.filter((r) => r.method !== "hard-mining"),
            target: 0.5,
            methods: ["sage"],
            noise: { share: 0.2, seed: 7, flipped: 480 },
          },
        }
      : {}),
  });
}

/** `runs` with `method`'s curve replaced by a copy of `like`'s, shifted by `shift(seed)` (pass@1 units). */
function reshaped(
  runs: RunSeries[],
  method: string,
  like: string,
  shift: (seed: number) => number,
): RunSeries[] {
  const byKey = new Map(runs.map((r) => [`${r.method}@${r.seed}`, r]));
  return runs.map((r) =>
    r.method !== method
      ? r
      : {
          ...r,
          points: byKey.get(`${like}@${r.seed}`)!.points.map((p, i) => ({
            ...p,
            accuracy: Math.min(1, Math.max(0, p.accuracy + shift(r.seed) * (i % 2 === 0 ? 1 : 0.9))),
          })),
        },
  );
}

describe("endpointsVerdict", () => {
  it("reads the primary endpoint against Holm and the MDE, then the target ratios and the hardest stratum", () => {
    const e = endpoints();
    const auc = e.endpoints.auc.sage!;
    expect(auc.diff).toBeGreaterThan(0);
    expect(auc.pHolm!).toBeLessThan(0.05);
    const text = endpointsVerdict(e);
    expect(text).toMatch(/^Pre-registered endpoints \(5 paired seeds, 2400 candidate pairs, 200 steps\): /);
    expect(text).toContain(`sage − uniform: +${(100 * auc.diff).toFixed(1)} points (95% CI +`);
    expect(text).toContain("over 2 method(s) — sage learns faster than uniform");
    expect(text).toContain(`detects at 80% power is ${(100 * e.power.mdeAuc!).toFixed(1)} points`);
    const steps = e.endpoints.stepsRatio.sage!;
    expect(steps.ratio).not.toBeNull();
    expect(text).toContain(`Steps to the 50.0% target: ${steps.ratio!.toFixed(2)}× [`);
    expect(text).toContain("Hardest stratum at step 200:");
    expect(text).toMatch(/Gradient SNR: \d\.\d\d× uniform's\./);
    expect(text).toMatch(/Scoring passes: \d+\.\d% of sage's step time\./);
    // no noise arm: one paragraph
    expect(text).not.toContain("\n\n");
    expect(text).not.toContain("Label-noise arm");
  });

  it("says 'not distinguishable' when the Holm-adjusted p is not below α, whatever the sign", () => {
    // per-seed shifts of both signs, mean +0.2 points: noise around no effect
    const runs = reshaped(
      syntheticRuns(SEEDS),
      "sage",
      "uniform",
      (seed) => [0.02, -0.015, 0.01, -0.02, 0.015][seed - 1]!,
    );
    const e = endpoints(runs);
    expect(e.endpoints.auc.sage!.pHolm!).toBeGreaterThanOrEqual(0.05);
    expect(endpointsVerdict(e)).toContain("sage is not distinguishable from uniform");
  });

  it("says 'learns more slowly' for a significant deficit, and names a censored ratio with the seed counts", () => {
    // sage copies hard-mining's lower curve, which never reaches 0.6 on any seed
    const runs = reshaped(syntheticRuns(SEEDS), "sage", "hard-mining", () => -0.02);
    const e = convergenceEndpoints(runs, {
      target: 0.6,
      methods: ["hard-mining", "sage"],
      design,
      resamples: 200,
    });
    const text = endpointsVerdict(e);
    expect(e.endpoints.auc.sage!.diff).toBeLessThan(0);
    expect(text).toContain("sage learns more slowly than uniform");
    const r = e.endpoints.stepsRatio.sage!;
    expect(r.reason).toBe("censored");
    expect(text).toContain(
      `no ratio: censored (sage reached it in ${r.reached} of 5 seeds, uniform in ${r.baselineReached} of 5)`,
    );
  });

  it("adds the label-noise arm as its own paragraph; a subject outside the family is said so", () => {
    const e = endpoints(syntheticRuns(SEEDS), true);
    const [main, noisy, ...rest] = endpointsVerdict(e).split("\n\n");
    expect(rest).toEqual([]);
    expect(main).toMatch(/^Pre-registered endpoints/);
    expect(noisy).toMatch(/^Label-noise arm \(20% of the labels swapped, its own Holm family\): /);
    expect(noisy).toContain("over 1 method(s)");
    expect(endpointsVerdict(e, "random")).toBe(
      "Pre-registered endpoints: random is not among the compared methods (hard-mining, sage).",
    );
  });
});

describe("endpoints tables", () => {
  it("one row per method after the baseline's, values as the endpoints hold them", () => {
    const e = endpoints(syntheticRuns(SEEDS), true);
    const table = armEndpointsTable(e, 0.95);
    const rows = table.split("\n").filter((l) => l.startsWith("<tr><td>"));
    expect(rows.map((r) => /^<tr><td>([^<]*)<\/td>/.exec(r)![1])).toEqual(["uniform", "hard-mining", "sage"]);
    const sage = rows[2]!;
    const a = e.endpoints.auc.sage!;
    const s = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(100 * x).toFixed(1)}`;
    expect(sage).toContain(`<td>${s(a.diff)} [${s(a.lo!)}, ${s(a.hi!)}]</td>`);
    expect(sage).toContain(`<td>${e.endpoints.stepsRatio.sage!.ratio!.toFixed(2)}× [`);
    const html = endpointsHtml(e);
    expect(html).toContain("<h3>Main comparison (5 seeds)</h3>");
    expect(html).toContain(
      "<h3>Label-noise arm (20% of the labels swapped, 480 pairs; its own Holm family)</h3>",
    );
    expect(html).toContain(`Minimum detectable AUC difference: ${(100 * e.power.mdeAuc!).toFixed(1)} points`);
  });

  it("escapes method names", () => {
    const runs = syntheticRuns(SEEDS).map((r) => (r.method === "sage" ? { ...r, method: "<b>x</b>" } : r));
    const e = convergenceEndpoints(runs, { target: 0.5, methods: ["<b>x</b>"], design, resamples: 50 });
    const table = armEndpointsTable(e, 0.95);
    expect(table).toContain("<td>&lt;b&gt;x&lt;/b&gt;</td>");
    expect(table).not.toContain("<b>x</b>");
  });

  it("renderHtml leads with the endpoints section and splits the verdict into paragraphs", () => {
    const runs = syntheticRuns(SEEDS);
    const e = endpoints(runs, true);
    const html = renderHtml({
      title: "t",
      adapter: "a",
      machine: "m",
      config: {},
      summary: summarizeRuns(runs, { target: 0.5 }),
      verdict: endpointsVerdict(e),
      endpoints: endpointsHtml(e),
      charts: [],
    });
    expect(html.match(/<p class="verdict">/g)).toHaveLength(2);
    const at = (s: string) => html.indexOf(s);
    expect(at("<h2>Pre-registered endpoints</h2>")).toBeGreaterThan(at("<h2>Verdict</h2>"));
    expect(at("<h2>Summary (descriptive: final pass@1, Welch intervals)</h2>")).toBeGreaterThan(
      at("<h2>Pre-registered endpoints</h2>"),
    );
  });
});
