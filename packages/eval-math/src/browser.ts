/**
 * The browser entry of `@sage/eval-math` (the `browser` export condition): extraction, grading and the
 * synthetic task families — everything of the main entry except what reads or writes files
 * (the benchmark loaders, `runBenchmark` and its writers, the agreement reports).
 */

export type { BenchmarkName, LoadBenchmarkOptions, Problem } from "./benchmarks.js";
export {
  BIGNUMBER_STEPS_PER_NODE,
  DEFAULT_MAX_STEPS,
  type EquivalenceOptions,
  type EquivalenceResult,
  isEquivalent,
  parseAnswer,
  SIMPLIFY_STEPS_PER_NODE,
  type Verdict,
} from "./equivalence.js";
export { EvalMathError, type EvalMathErrorCode, StepBudgetExceeded, StepCounter } from "./errors.js";
export {
  DEFAULT_EXTRACTION_ORDER,
  EXTRACT_STEPS_FIXED,
  EXTRACT_STEPS_PER_CHAR,
  type ExtractedAnswer,
  type ExtractionMethod,
  type ExtractOptions,
  extractAnswer,
  extractAnswers,
  findBoxed,
  lastLineBoxed,
  stripAnswerDelimiters,
  VULGAR_FRACTIONS,
} from "./extract.js";
export { type GradeOptions, type GradeResult, gradeResponse, gradeStepBound } from "./grade.js";
export {
  DEFAULT_PARSE_LIMITS,
  type Expr,
  LatexParseError,
  PARSE_WORK_PER_TOKEN,
  type ParseLimits,
  parseLatex,
} from "./latex.js";
export {
  MAX_NORMALIZE_LENGTH,
  NORMALIZE_STEPS_PER_CHAR,
  type NormalizedAnswer,
  normalizeAnswer,
  textKey,
} from "./normalize.js";
export type {
  Generate,
  GenerateOptions,
  GroupStats,
  RunBenchmarkOptions,
  RunResult,
  RunSummary,
  SampleRecord,
} from "./runner.js";
export {
  CHAIN_ERROR_KINDS,
  CHAINS_MAX_STEPS,
  type ChainErrorKind,
  type ChainOp,
  type ChainStep,
  type ChainsOptions,
  type ChainsProblem,
  type ChainsVerdict,
  checkArithmeticSteps,
  DEFAULT_CHAIN_ERROR_WEIGHTS,
  generateChains,
  generateSynthetic,
  parseChainsQuestion,
  SYNTHETIC_CHARSET,
  SYNTHETIC_LEVELS,
  type SyntheticLevel,
  type SyntheticOp,
  type SyntheticOptions,
  type SyntheticProblem,
  type SyntheticVerdict,
  seededRandom,
  type TeacherLine,
  type TeacherOptions,
  type TeacherSolution,
  teacherSolution,
  verifyChains,
  verifySynthetic,
} from "./synthetic.js";
