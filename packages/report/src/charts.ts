import { existsSync } from "node:fs";
import { Resvg } from "@resvg/resvg-js";
import type { View } from "vega";
import type { TopLevelSpec } from "vega-lite";
import { ReportError } from "./errors.js";
import { meanInterval } from "./stats.js";
import { groupByMethod } from "./summary.js";
import type { RunSeries } from "./types.js";

/** One chart of the report: a stable file-friendly name, a caption and its vega-lite spec. */
export interface ChartSpec {
  /** `accuracy-steps`, `accuracy-wall`, `strata-steps`, `frontier` or `snr` (also the PNG's file name). */
  name: string;
  title: string;
  spec: TopLevelSpec;
}

const WIDTH = 420;
const HEIGHT = 260;

type Row = Record<string, string | number>;

/** Mean and t interval over seeds at each step where at least one seed has a value. */
function meanByStep(
  runs: readonly RunSeries[],
  pick: (p: RunSeries["points"][number]) => number | undefined,
  confidence: number,
): { step: number; mean: number; lo: number; hi: number; n: number }[] {
  const byStep = new Map<number, number[]>();
  for (const run of runs) {
    for (const p of run.points) {
      const v = pick(p);
      if (v === undefined) continue;
      const list = byStep.get(p.step);
      if (list) list.push(v);
      else byStep.set(p.step, [v]);
    }
  }
  return [...byStep.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([step, values]) => {
      const iv = meanInterval(values, confidence);
      return { step, mean: iv.mean, lo: iv.lo ?? iv.mean, hi: iv.hi ?? iv.mean, n: iv.n };
    });
}

/**
 * Colour by method with the same domain (so the same colour) in every chart; the legend lists only
 * the methods present in this chart (`shown`), and `legend: false` hides it (for band layers).
 */
const colorFor = (methods: string[], shown: string[] = methods, legend = true) => ({
  field: "method",
  type: "nominal" as const,
  title: "method",
  scale: { domain: methods },
  sort: methods,
  legend: legend ? { values: shown } : null,
});

const present = (methods: string[], rows: Row[]): string[] =>
  methods.filter((m) => rows.some((r) => r.method === m));

/** A mean line with points and a shaded confidence band, coloured by method. */
function bandedLine(
  rows: Row[],
  methods: string[],
  yTitle: string,
  yFormat: string,
  yZero: boolean,
): TopLevelSpec {
  const x = { field: "step", type: "quantitative" as const, title: "optimizer step" };
  const y = {
    type: "quantitative" as const,
    title: yTitle,
    axis: { format: yFormat },
    scale: { zero: yZero },
  };
  return {
    width: WIDTH,
    height: HEIGHT,
    data: { values: rows },
    // independent legends so the band layer's hidden legend does not hide the line layer's
    resolve: { legend: { color: "independent" } },
    layer: [
      {
        mark: { type: "area", opacity: 0.18 },
        encoding: { x, y: { ...y, field: "lo" }, y2: { field: "hi" }, color: colorFor(methods, [], false) },
      },
      {
        mark: { type: "line", point: true, strokeWidth: 2 },
        encoding: { x, y: { ...y, field: "mean" }, color: colorFor(methods, present(methods, rows)) },
      },
    ],
  } as TopLevelSpec;
}

/**
 * The report's charts for `runs` (only those the data supports): accuracy vs steps (mean over
 * seeds with a t band), accuracy vs wall-clock (one line per seed), accuracy per difficulty stratum
 * vs steps, the curriculum frontier vs steps, and gradient SNR vs steps. Pure function of its input.
 */
export function chartSpecs(runs: readonly RunSeries[], confidence = 0.95): ChartSpec[] {
  const groups = groupByMethod(runs);
  const methods = [...groups.keys()];
  const charts: ChartSpec[] = [];
  const pct = Math.round(confidence * 100);
  // a band needs ≥ 2 seeds of a method; with one seed per method the captions say so and draw none
  const maxSeeds = Math.max(0, ...[...groups.values()].map((g) => new Set(g.map((r) => r.seed)).size));
  const over = maxSeeds >= 2 ? `mean over seeds, ${pct}% t band` : "one seed per method, no band";
  const overPlain = maxSeeds >= 2 ? "mean over seeds" : "one seed per method";
  const lastStep = Math.max(0, ...runs.map((r) => r.points[r.points.length - 1]?.step ?? 0));

  const acc: Row[] = [];
  for (const [method, group] of groups) {
    for (const r of meanByStep(group, (p) => p.accuracy, confidence)) acc.push({ method, ...r });
  }
  charts.push({
    name: "accuracy-steps",
    title: `pass@1 against optimizer steps (${over})`,
    spec: bandedLine(acc, methods, "pass@1", ".0%", true),
  });

  // wall-clock unit by range: seconds up to 10 min, minutes up to 5 h, then hours
  const maxMs = Math.max(...runs.map((r) => r.points[r.points.length - 1]?.wallMs ?? 0));
  const [unit, msPer] =
    maxMs <= 600_000 ? ["s", 1000] : maxMs <= 18_000_000 ? ["min", 60_000] : ["h", 3_600_000];
  const wall: Row[] = [];
  for (const run of runs) {
    for (const p of run.points) {
      wall.push({
        method: run.method,
        seed: `${run.method} #${run.seed}`,
        time: p.wallMs / msPer,
        accuracy: p.accuracy,
      });
    }
  }
  charts.push({
    name: "accuracy-wall",
    title: "pass@1 against wall-clock, scoring included (one line per seed)",
    spec: {
      width: WIDTH,
      height: HEIGHT,
      data: { values: wall },
      mark: { type: "line", point: { size: 18 }, strokeWidth: 1.5 },
      encoding: {
        x: { field: "time", type: "quantitative", title: `wall-clock (${unit})` },
        y: { field: "accuracy", type: "quantitative", title: "pass@1", axis: { format: ".0%" } },
        color: colorFor(methods),
        detail: { field: "seed", type: "nominal" },
        order: { field: "time", type: "quantitative" },
      },
    } as TopLevelSpec,
  });

  const strata = runs.reduce((n, r) => Math.max(n, ...r.points.map((p) => p.byStratum?.length ?? 0)), 0);
  if (strata > 0) {
    const rows: Row[] = [];
    const label = (k: number) =>
      `stratum ${k}${k === 0 ? " (easiest)" : ""}${k === strata - 1 && k > 0 ? " (hardest)" : ""}`;
    for (let k = 0; k < strata; k++) {
      for (const [method, group] of groups) {
        for (const r of meanByStep(group, (p) => p.byStratum?.[k], confidence)) {
          rows.push({ method, stratum: label(k), order: k, step: r.step, mean: r.mean });
        }
      }
    }
    charts.push({
      name: "strata-steps",
      title: `pass@1 per difficulty stratum against optimizer steps (${overPlain})`,
      spec: {
        data: { values: rows },
        facet: {
          column: {
            field: "stratum",
            type: "nominal",
            title: null,
            sort: Array.from({ length: strata }, (_, k) => label(k)),
          },
        },
        spec: {
          width: Math.max(140, Math.floor((3 * WIDTH) / Math.max(strata, 3))),
          height: 200,
          mark: { type: "line", point: true, strokeWidth: 2 },
          encoding: {
            x: { field: "step", type: "quantitative", title: "optimizer step" },
            y: { field: "mean", type: "quantitative", title: "pass@1", axis: { format: ".0%" } },
            color: colorFor(methods),
          },
        },
      } as TopLevelSpec,
    });
  }

  const frontierRows: Row[] = [];
  for (const [method, group] of groups) {
    const rows = meanByStep(group, (p) => p.frontier, confidence);
    // a curriculum starts at its easiest stratum (0): drawn from step 0 like the other charts
    if (rows.length > 0 && rows[0]!.step > 0)
      frontierRows.push({ method, step: 0, mean: 0, lo: 0, hi: 0, n: 0 });
    for (const r of rows) frontierRows.push({ method, ...r });
  }
  if (frontierRows.length > 0) {
    charts.push({
      name: "frontier",
      title: `curriculum frontier (highest unlocked stratum) against optimizer steps (${overPlain})`,
      spec: {
        width: WIDTH,
        height: 180,
        data: { values: frontierRows },
        mark: { type: "line", interpolate: "step-after", point: true, strokeWidth: 2 },
        encoding: {
          x: {
            field: "step",
            type: "quantitative",
            title: "optimizer step",
            scale: { domain: [0, lastStep] },
          },
          y: {
            field: "mean",
            type: "quantitative",
            title: "frontier stratum",
            axis: { tickMinStep: 1, format: "d" },
            scale: { domainMin: 0, ...(strata > 0 ? { domainMax: strata - 1 } : {}) },
          },
          color: colorFor(methods, present(methods, frontierRows)),
        },
      } as TopLevelSpec,
    });
  }

  const snr: Row[] = [];
  for (const [method, group] of groups) {
    for (const r of meanByStep(group, (p) => p.snr, confidence)) snr.push({ method, ...r });
  }
  if (snr.length > 0) {
    charts.push({
      name: "snr",
      title: `gradient signal-to-noise of the selected batches (${over})`,
      spec: bandedLine(snr, methods, "gradient SNR = ‖ḡ‖² / mean ‖g_j − ḡ‖²", "~g", false),
    });
  }
  return charts;
}

/**
 * Render a vega-lite spec to an SVG string, headless (vega's `View.toSVG`, no canvas). Element ids
 * are renamed `${idPrefix}-1, -2, …` in order of appearance, so several SVGs can share one HTML page
 * and the output does not depend on how many charts the process rendered before.
 */
export async function renderSvg(spec: TopLevelSpec, idPrefix: string): Promise<string> {
  let view: View | undefined;
  try {
    // loaded on first use: vega + vega-lite take ~0.6 s to import, and summaries do not need them
    const [vega, { compile }] = await Promise.all([import("vega"), import("vega-lite")]);
    const compiled = compile(spec).spec;
    view = new vega.View(vega.parse(compiled), { renderer: "none" });
    const svg = await view.toSVG();
    const ids = new Map<string, string>();
    for (const m of svg.matchAll(/\sid="([^"]+)"/g)) {
      if (!ids.has(m[1]!)) ids.set(m[1]!, `${idPrefix}-${ids.size + 1}`);
    }
    return svg
      .replace(/(\sid=")([^"]+)(")/g, (_, a: string, id: string, b: string) => `${a}${ids.get(id) ?? id}${b}`)
      .replace(/url\(#([^)]+)\)/g, (whole, id: string) => (ids.has(id) ? `url(#${ids.get(id)})` : whole))
      .replace(/(href="#)([^"]+)(")/g, (whole, a: string, id: string, b: string) =>
        ids.has(id) ? `${a}${ids.get(id)}${b}` : whole,
      );
  } catch (error) {
    throw new ReportError(
      "RENDER_FAILED",
      `chart ${idPrefix}: vega could not render the spec: ${String(error)}`,
      {
        cause: error,
      },
    );
  } finally {
    view?.finalize();
  }
}

/** Where to find a font for the PNGs (resvg draws no text without one). */
export interface FontOptions {
  /** Font files to load (TTF/OTF). When given, no other font is searched. */
  files?: string[];
  /** Family name of `files` that replaces the SVG's generic `sans-serif` (default "DejaVu Sans"). */
  family?: string;
  /** Also load the system's fonts (slower, machine-dependent output). Default: only when no known font file exists. */
  system?: boolean;
  /** Look for DejaVu Sans / Arial at the usual paths (default true). */
  search?: boolean;
}

/** Usual locations of a sans-serif font, in preference order. */
export const FONT_CANDIDATES: readonly { path: string; family: string }[] = [
  { path: "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", family: "DejaVu Sans" }, // Debian, Ubuntu (fonts-dejavu-core)
  { path: "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf", family: "DejaVu Sans" }, // Fedora
  { path: "/usr/share/fonts/dejavu/DejaVuSans.ttf", family: "DejaVu Sans" }, // older Fedora, Alpine
  { path: "/usr/share/fonts/TTF/DejaVuSans.ttf", family: "DejaVu Sans" }, // Arch
  { path: "/System/Library/Fonts/Supplemental/Arial.ttf", family: "Arial" }, // macOS
  { path: "/Library/Fonts/Arial.ttf", family: "Arial" },
  { path: "C:\\Windows\\Fonts\\arial.ttf", family: "Arial" },
];

/** What resvg will be given, and a warning when the PNGs may come out without text. */
export interface ResolvedFont {
  files: string[];
  family: string | null;
  system: boolean;
  warning: string | null;
}

/** Pick the PNG font: explicit `files`, else the first existing `FONT_CANDIDATES`, else system fonts with a warning. */
export function resolveFont(options: FontOptions = {}): ResolvedFont {
  if (options.files && options.files.length > 0) {
    const missing = options.files.filter((f) => !existsSync(f));
    if (missing.length > 0) {
      throw ReportError.mismatch("OPTION_INVALID", "font.files", "existing font files", missing);
    }
    return {
      files: [...options.files],
      family: options.family ?? "DejaVu Sans",
      system: options.system ?? false,
      warning: null,
    };
  }
  if (options.search ?? true) {
    const found = FONT_CANDIDATES.find((c) => existsSync(c.path));
    if (found)
      return { files: [found.path], family: found.family, system: options.system ?? false, warning: null };
  }
  const system = options.system ?? true;
  return {
    files: [],
    family: null,
    system,
    warning: system
      ? "no DejaVu Sans or Arial font file found: the PNG charts use whatever fonts resvg finds on this system, and their text is missing if there are none (on Debian/Ubuntu: apt-get install fonts-dejavu-core; or pass font.files). The HTML page is not affected."
      : "no font loaded: the PNG charts are drawn without any text (on Debian/Ubuntu: apt-get install fonts-dejavu-core; or pass font.files). The HTML page is not affected.",
  };
}

/** Rasterise an SVG to PNG bytes with resvg (white background, `scale`× the SVG's size). */
export function svgToPng(svg: string, font: ResolvedFont, scale = 2): Uint8Array {
  if (!(scale > 0 && scale <= 8))
    throw ReportError.mismatch("OPTION_INVALID", "scale", "a number in (0, 8]", scale);
  const fontOptions = {
    loadSystemFonts: font.system,
    fontFiles: font.files,
    ...(font.family !== null
      ? { defaultFontFamily: font.family, sansSerifFamily: font.family, serifFamily: font.family }
      : {}),
  };
  try {
    const resvg = new Resvg(svg, {
      font: fontOptions,
      fitTo: { mode: "zoom", value: scale },
      background: "white",
      logLevel: "off",
    });
    return new Uint8Array(resvg.render().asPng());
  } catch (error) {
    throw new ReportError("RENDER_FAILED", `resvg could not rasterise the chart: ${String(error)}`, {
      cause: error,
    });
  }
}
