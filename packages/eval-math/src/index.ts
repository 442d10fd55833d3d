// Everything that runs in a browser (the `browser` entry), then what reads or writes files.

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
  buildPrompt,
  COT_INSTRUCTION,
  gsm8kReference,
  loadBenchmark,
} from "./benchmarks.js";
export * from "./browser.js";
export {
  majorityCorrect,
  passAtK,
  reportedKs,
  runBenchmark,
  summarize,
  toJsonl,
  writeFileAtomic,
} from "./runner.js";
