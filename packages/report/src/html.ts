import { duration, interval, pct, ratio } from "./format.js";
import type { Interval, ReportSummary } from "./types.js";

/** Escape text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** A chart ready for the page: its name, caption and SVG markup (produced by vega, trusted). */
export interface RenderedChart {
  name: string;
  title: string;
  svg: string;
}

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1b1b1b;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.meta{color:#555}.meta dt{font-weight:600;float:left;clear:left;width:9rem}.meta dd{margin-left:9.5rem}
.verdict{background:#f5f8ff;border-left:4px solid #4c78a8;padding:.8rem 1rem}
table{border-collapse:collapse;font-size:.88rem;width:100%}th,td{border:1px solid #ddd;padding:.3rem .45rem;text-align:right;vertical-align:top}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left;font-weight:600}
figure{margin:1.2rem 0}figcaption{color:#444;font-size:.9rem;margin-bottom:.3rem}figure svg{max-width:100%;height:auto}
pre{background:#f7f7f7;padding:.8rem;overflow:auto;font-size:.82rem}
`;

const cell = (iv: Interval | null, fmt: (x: number) => string): string =>
  iv ? escapeHtml(interval(iv, fmt)) : "—";

/** The summary table as HTML (every value escaped). */
export function summaryTable(summary: ReportSummary): string {
  const level = `${Math.round(summary.confidence * 100)}% CI`;
  const target = pct(summary.target);
  const head = [
    "method",
    "seeds",
    `final pass@1 [${level}]`,
    `hardest stratum pass@1 [${level}]`,
    `seeds reaching ${target}`,
    `steps to ${target}`,
    `steps ÷ ${summary.baseline}`,
    `wall-clock to ${target}`,
    `wall-clock ÷ ${summary.baseline}`,
    "gradient SNR",
    "scoring share",
    "final frontier",
  ];
  const rows = summary.methods.map((m) => [
    escapeHtml(m.method),
    String(m.seeds.length),
    cell(m.finalAccuracy, pct),
    cell(m.finalHardest, pct),
    `${m.reachedTarget} / ${m.seeds.length}`,
    cell(m.stepsToTarget, (x) => x.toFixed(0)),
    m.stepsRatio ? escapeHtml(ratio(m.stepsRatio)) : "—",
    cell(m.wallMsToTarget, duration),
    m.wallRatio ? escapeHtml(ratio(m.wallRatio)) : "—",
    cell(m.snr, (x) => x.toPrecision(3)),
    cell(m.scoringShare, pct),
    cell(m.finalFrontier, (x) => x.toFixed(1)),
  ]);
  return htmlTable(head, rows);
}

/** An HTML table: `head` as plain text (escaped here), `rows` of cells already escaped. */
export function htmlTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return `<table>\n<thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead>\n<tbody>\n${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`)
    .join("\n")}\n</tbody>\n</table>`;
}

/** Everything the page shows. */
export interface PageContent {
  title: string;
  adapter: string;
  machine: string;
  notes?: string;
  config: Record<string, unknown>;
  summary: ReportSummary;
  verdict: string;
  /** The pre-registered endpoints section (`endpointsHtml`, already escaped), shown before the summary. */
  endpoints?: string;
  charts: RenderedChart[];
}

/**
 * A self-contained HTML page: inline CSS, inline SVG charts, no scripts and no network (a
 * Content-Security-Policy forbids both). Every user-supplied string is escaped.
 */
export function renderHtml(page: PageContent): string {
  const s = page.summary;
  const meta: [string, string][] = [
    ["adapter", page.adapter],
    ["machine", page.machine],
    ["target accuracy", pct(s.target)],
    ["baseline", s.baseline + (s.baselineFound ? "" : " (no runs)")],
    ["intervals", `${Math.round(s.confidence * 100)}%: t over seeds; ratios: seeded percentile bootstrap`],
    ["strata", s.strata > 0 ? `${s.strata}, easiest first` : "none reported"],
  ];
  const figures = page.charts
    .map(
      (c) =>
        `<figure id="chart-${escapeHtml(c.name)}">\n<figcaption>${escapeHtml(c.title)}</figcaption>\n${c.svg}\n</figure>`,
    )
    .join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeHtml(page.title)}</h1>
${page.notes ? `<p>${escapeHtml(page.notes)}</p>\n` : ""}<dl class="meta">
${meta.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("\n")}
</dl>
<h2>Verdict</h2>
${page.verdict
  .split(/\n\n+/)
  .map((para) => `<p class="verdict">${escapeHtml(para)}</p>`)
  .join("\n")}
${page.endpoints ? `<h2>Pre-registered endpoints</h2>\n${page.endpoints}\n<h2>Summary (descriptive: final pass@1, Welch intervals)</h2>` : "<h2>Summary</h2>"}
${summaryTable(s)}
<h2>Charts</h2>
${figures}
<h2>Configuration</h2>
<pre>${escapeHtml(JSON.stringify(page.config, null, 2) ?? "")}</pre>
</body>
</html>
`;
}
