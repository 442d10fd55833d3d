import { join } from "node:path";
import { writeFileAtomic } from "@sage/core/node";
import { chartSpecs, type FontOptions, renderSvg, resolveFont, svgToPng } from "./charts.js";
import { endpointsHtml, endpointsVerdict } from "./endpoints-view.js";
import { ReportError } from "./errors.js";
import { type RenderedChart, renderHtml } from "./html.js";
import { summarizeRuns, validateRuns } from "./summary.js";
import type { ReportInput, ReportSummary } from "./types.js";
import { verdict } from "./verdict.js";

/**
 * Write `data` to `path` atomically and durably (`@sage/core/node`'s `writeFileAtomic`: parent
 * folder created, temp file fsynced and renamed, folder fsynced); failures are `IO_FAILED`.
 */
export async function atomicWrite(path: string, data: string | Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(path, data);
  } catch (error) {
    throw new ReportError("IO_FAILED", `could not write ${path}: ${String(error)}`, { cause: error });
  }
}

/** Options of `writeReport`. */
export interface WriteReportOptions {
  /** Font for the PNGs (see `resolveFont`). */
  font?: FontOptions;
  /** PNG pixels per SVG pixel (default 2). */
  scale?: number;
  /** Write the PNGs (default true). The HTML never needs them. */
  png?: boolean;
  /** Called with each warning (also returned); default: none, the caller decides. */
  onWarning?: (message: string) => void;
}

/** Paths written by `writeReport`, plus what was computed. */
export interface WrittenReport {
  /** `<outDir>/report.html` */
  html: string;
  /** `<outDir>/<chart>.png`, one per chart, in page order. */
  pngs: string[];
  /** `<outDir>/report.json`: title, adapter, machine, config, summary and verdict. */
  json: string;
  summary: ReportSummary;
  verdict: string;
  warnings: string[];
}

/**
 * Write the report for `input` into `outDir` (created if missing): `report.html` (self-contained),
 * one PNG per chart and `report.json`. Each file is written atomically (temp + rename). The output
 * is a pure function of `input` and the font: no timestamps, ids renumbered per chart.
 */
export async function writeReport(
  input: ReportInput,
  outDir: string,
  options: WriteReportOptions = {},
): Promise<WrittenReport> {
  for (const key of ["title", "adapter", "machine"] as const) {
    if (typeof input[key] !== "string") {
      throw ReportError.mismatch("INPUT_INVALID", `ReportInput.${key}`, "a string", input[key]);
    }
  }
  try {
    JSON.stringify(input.config);
  } catch (error) {
    throw new ReportError(
      "INPUT_INVALID",
      `ReportInput.config: expected JSON-serialisable values, received one that JSON.stringify rejects (${String(error)})`,
      { cause: error },
    );
  }
  if (input.summary !== undefined) validateRuns(input.runs); // summarizeRuns validates otherwise
  const summary =
    input.summary ??
    summarizeRuns(input.runs, {
      ...(input.target !== undefined ? { target: input.target } : {}),
      ...(input.baseline !== undefined ? { baseline: input.baseline } : {}),
      ...(input.subject !== undefined ? { subject: input.subject } : {}),
    });
  const text = input.endpoints
    ? `${endpointsVerdict(input.endpoints, summary.subject)}\n\nSecondary, descriptive (final pass@1): ${verdict(summary)}`
    : verdict(summary);
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    options.onWarning?.(m);
  };

  const charts: RenderedChart[] = [];
  for (const c of chartSpecs(input.runs, summary.confidence)) {
    charts.push({ name: c.name, title: c.title, svg: await renderSvg(c.spec, `chart-${c.name}`) });
  }
  const html = renderHtml({
    title: input.title,
    adapter: input.adapter,
    machine: input.machine,
    ...(input.notes !== undefined ? { notes: input.notes } : {}),
    config: input.config,
    summary,
    verdict: text,
    ...(input.endpoints ? { endpoints: endpointsHtml(input.endpoints) } : {}),
    charts,
  });
  const json = `${JSON.stringify(
    {
      title: input.title,
      adapter: input.adapter,
      machine: input.machine,
      config: input.config,
      summary,
      verdict: text,
      charts: charts.map((c) => c.name),
    },
    null,
    2,
  )}\n`;

  const pngs: string[] = [];
  if (options.png ?? true) {
    const font = resolveFont(options.font);
    if (font.warning) warn(font.warning);
    for (const c of charts) {
      const path = join(outDir, `${c.name}.png`);
      await atomicWrite(path, svgToPng(c.svg, font, options.scale ?? 2));
      pngs.push(path);
    }
  }
  const htmlPath = join(outDir, "report.html");
  const jsonPath = join(outDir, "report.json");
  await atomicWrite(jsonPath, json);
  await atomicWrite(htmlPath, html);
  return { html: htmlPath, pngs, json: jsonPath, summary, verdict: text, warnings };
}
