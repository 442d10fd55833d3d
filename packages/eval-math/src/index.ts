export {
  type AgreementReport,
  type Disagreement,
  equalPerturbations,
  gsm8kPerturbationAgreement,
  gsm8kPerturbations,
  math500SolutionAgreement,
  mathCotAgreement,
  mutateLastDigit,
  perturbationRobustness,
  type RobustnessReport,
} from "./agreement.js";
export {
  BENCHMARK_NAMES,
  type BenchmarkName,
  buildPrompt,
  COT_INSTRUCTION,
  type LoadBenchmarkOptions,
  loadBenchmark,
  type Problem,
} from "./benchmarks.js";
export {
  type EquivalenceOptions,
  type EquivalenceResult,
  isEquivalent,
  parseAnswer,
  type Verdict,
} from "./equivalence.js";
export { EvalMathError, type EvalMathErrorCode } from "./errors.js";
export {
  DEFAULT_EXTRACTION_ORDER,
  type ExtractedAnswer,
  type ExtractionMethod,
  type ExtractOptions,
  extractAnswer,
  extractAnswers,
  findBoxed,
  lastLineBoxed,
} from "./extract.js";
export { type GradeOptions, type GradeResult, gradeResponse } from "./grade.js";
export { DEFAULT_PARSE_LIMITS, type Expr, LatexParseError, type ParseLimits, parseLatex } from "./latex.js";
export { type NormalizedAnswer, normalizeAnswer, textKey } from "./normalize.js";
export {
  type Generate,
  type GenerateOptions,
  type GroupStats,
  majorityCorrect,
  passAtK,
  type RunBenchmarkOptions,
  type RunResult,
  type RunSummary,
  reportedKs,
  runBenchmark,
  type SampleRecord,
  summarize,
  toJsonl,
  writeFileAtomic,
} from "./runner.js";
export {
  checkArithmeticSteps,
  generateSynthetic,
  SYNTHETIC_CHARSET,
  SYNTHETIC_LEVELS,
  type SyntheticLevel,
  type SyntheticOp,
  type SyntheticOptions,
  type SyntheticProblem,
  type SyntheticVerdict,
  verifySynthetic,
} from "./synthetic.js";
