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
export {
  type AblationRow,
  type AblationStudyRecord,
  ablationRows,
  type ComparisonStudyRecord,
  type ConvergenceStudyRecord,
  type RewriteConvergenceReportFileOptions,
  type RewriteConvergenceReportOptions,
  rewriteConvergenceReport,
  rewriteConvergenceReportFile,
  type StudyCommonRecord,
  type StudyComparison,
  type StudyRunDetail,
  type WriteConvergenceStudyOptions,
  type WrittenConvergenceStudy,
  writeConvergenceStudy,
} from "./convergence.js";
export {
  type ArmEndpoints,
  type ArmOptions,
  areaUnderCurve,
  type BootstrapOptions,
  type ConvergenceEndpoints,
  type ConvergenceEndpointsOptions,
  type CrossingRule,
  convergenceEndpoints,
  crossingOf,
  holmAdjust,
  minimumDetectableDifference,
  type PairedDifference,
  type PairedEndpoint,
  pairedDifference,
  type RatioCensoring,
  type RatioEndpoint,
  type TargetRatio,
  targetRatio,
  tuningTarget,
} from "./endpoints.js";
export { armEndpointsTable, endpointsHtml, endpointsVerdict } from "./endpoints-view.js";
export { describeValue, ReportError, type ReportErrorCode } from "./errors.js";
export {
  type GreedyCheckRecord,
  type GreedyMethodSummary,
  type GreedyRunInput,
  greedySummary,
  type WriteGreedyCheckOptions,
  writeGreedyCheck,
} from "./greedy.js";
export { escapeHtml, type PageContent, type RenderedChart, renderHtml, summaryTable } from "./html.js";
export {
  bootstrapRatio,
  mean,
  meanInterval,
  pairedBootstrapRatio,
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
