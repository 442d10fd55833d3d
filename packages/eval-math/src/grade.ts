import { DEFAULT_MAX_STEPS, type EquivalenceOptions, isEquivalent, type Verdict } from "./equivalence.js";
import { StepCounter } from "./errors.js";
import {
  EXTRACT_STEPS_FIXED,
  EXTRACT_STEPS_PER_CHAR,
  type ExtractionMethod,
  type ExtractOptions,
  extractAnswer,
  lastLineBoxed,
} from "./extract.js";

export interface GradeOptions extends EquivalenceOptions, ExtractOptions {
  /**
   * When the response ends with several `\boxed{}` answers separated only by list connectors and
   * the last one alone is not equal, also try them joined as a list ("the roots are \boxed{2} and
   * \boxed{3}"). Boxes from the reasoning, with words between, are never joined. Default true.
   */
  joinLastLineBoxes?: boolean;
}

export interface GradeResult {
  /** `verdict === "equal"`. */
  correct: boolean;
  verdict: Verdict;
  reason: string;
  /** The extracted answer, or null when none was found. */
  extracted: string | null;
  method: ExtractionMethod | null;
}

/**
 * The most steps {@link gradeResponse} takes on a response of `length` characters: extraction is
 * linear (one step per character per pass, plus a fixed amount for reading the few statements
 * tried), the box-joining pass is one more linear pass, and each of the at most two comparisons
 * is capped at `maxSteps`.
 */
export function gradeStepBound(length: number, maxSteps: number = DEFAULT_MAX_STEPS): number {
  return (EXTRACT_STEPS_PER_CHAR + 2) * length + EXTRACT_STEPS_FIXED + 2 * maxSteps;
}

/** Extract the final answer from a model response and compare it with the reference answer. */
export function gradeResponse(response: string, reference: string, opts: GradeOptions = {}): GradeResult {
  const counter = opts.counter ?? new StepCounter();
  opts = { ...opts, counter };
  const ex = extractAnswer(response, opts);
  if (ex === null) {
    return {
      correct: false,
      verdict: "unparseable",
      reason: "no answer found in the response",
      extracted: null,
      method: null,
    };
  }
  let res = isEquivalent(ex.answer, reference, opts);
  let extracted = ex.answer;
  if (res.verdict !== "equal" && ex.method === "boxed" && (opts.joinLastLineBoxes ?? true)) {
    const boxes = lastLineBoxed(response, counter);
    if (boxes.length > 1) {
      const joined = boxes.join(", ");
      const r2 = isEquivalent(joined, reference, opts);
      if (r2.verdict === "equal") {
        res = { verdict: "equal", reason: `several boxes joined: ${r2.reason}` };
        extracted = joined;
      }
    }
  }
  return {
    correct: res.verdict === "equal",
    verdict: res.verdict,
    reason: res.reason,
    extracted,
    method: ex.method,
  };
}
