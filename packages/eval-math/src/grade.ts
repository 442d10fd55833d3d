import { type EquivalenceOptions, isEquivalent, type Verdict } from "./equivalence.js";
import { type ExtractionMethod, type ExtractOptions, extractAnswer, lastLineBoxed } from "./extract.js";

export interface GradeOptions extends EquivalenceOptions, ExtractOptions {
  /**
   * When the last line holds several `\boxed{}` answers and the last one alone is not equal,
   * also try them joined as a list ("the roots are \boxed{2} and \boxed{3}"). Default true.
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

/** Extract the final answer from a model response and compare it with the reference answer. */
export function gradeResponse(response: string, reference: string, opts: GradeOptions = {}): GradeResult {
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
    const boxes = lastLineBoxed(response);
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
