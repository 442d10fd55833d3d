export {
  type ChartSpec,
  chartSpecs,
  FONT_CANDIDATES,
  type FontOptions,
  type ResolvedFont,
  renderSvg,
  resolveFont,
  svgToPng,
} from "./charts.js";
export { describeValue, ReportError, type ReportErrorCode } from "./errors.js";
export { escapeHtml, type PageContent, type RenderedChart, renderHtml, summaryTable } from "./html.js";
export {
  bootstrapRatio,
  mean,
  meanInterval,
  mulberry32,
  sampleStd,
  studentTCdf,
  studentTQuantile,
  welchDifference,
} from "./stats.js";
export {
  firstCrossing,
  groupByMethod,
  type SummarizeOptions,
  summarizeRuns,
  validateRuns,
} from "./summary.js";
export type {
  Interval,
  MethodSummary,
  Ratio,
  ReportInput,
  ReportSummary,
  RunPoint,
  RunSeries,
} from "./types.js";
export { compareMethods, type Outcome, verdict, verdictSentences } from "./verdict.js";
export { atomicWrite, type WriteReportOptions, type WrittenReport, writeReport } from "./write.js";
