/**
 * Agreement of this grader with independent graders on the shared real data (used by the
 * `scripts/agreement.ts` script and the agreement tests).
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { jsonlLines, parseJsonlLine } from "@sage/core";
import { loadBenchmark, type Problem } from "./benchmarks.js";
import { isEquivalent } from "./equivalence.js";
import { EvalMathError } from "./errors.js";
import { findBoxed } from "./extract.js";
import { type GradeOptions, gradeResponse } from "./grade.js";

export interface Disagreement {
  /** `<idx>:<sample>` for math_cot_100, the problem id otherwise. */
  key: string;
  reference: string;
  extracted: string | null;
  ours: boolean;
  theirs: boolean;
  reason: string;
}

export interface AgreementReport {
  total: number;
  agree: number;
  rate: number;
  disagreements: Disagreement[];
  /** math_cot_100 only: our extracted answer is equivalent to the file's extracted `pred`. */
  extractionAgree?: number;
}

/** Grade the 800 responses of `model-outputs/math_cot_100.jsonl` and compare with its `score`. */
export function mathCotAgreement(dataDir: string, opts: GradeOptions = {}): AgreementReport {
  const file = path.join(dataDir, "model-outputs", "math_cot_100.jsonl");
  if (!existsSync(file)) throw new EvalMathError("DATA_MISSING", `not found: ${file}`);
  let total = 0;
  let agree = 0;
  let extractionAgree = 0;
  const disagreements: Disagreement[] = [];
  for (const { line: n, text } of jsonlLines(readFileSync(file, "utf8"))) {
    const row = parseJsonlLine(text, n, file) as {
      idx: number;
      answer: string;
      response: string[];
      score: boolean[];
      pred: string[];
    };
    row.response.forEach((resp, j) => {
      const theirs = row.score[j] === true;
      const g = gradeResponse(resp, row.answer, opts);
      total++;
      const pred = row.pred[j];
      if (
        g.extracted !== null &&
        pred !== undefined &&
        isEquivalent(g.extracted, pred, opts).verdict === "equal"
      ) {
        extractionAgree++;
      }
      if (g.correct === theirs) agree++;
      else {
        disagreements.push({
          key: `${row.idx}:${j}`,
          reference: row.answer,
          extracted: g.extracted,
          ours: g.correct,
          theirs,
          reason: g.reason,
        });
      }
    });
  }
  return { total, agree, rate: agree / total, disagreements, extractionAgree };
}

/** MATH-500: the last `\boxed{}` of each reference `solution`, graded against `answer`. */
export function math500SolutionAgreement(dataDir: string, opts: GradeOptions = {}): AgreementReport {
  const problems = loadBenchmark("math500", { dataDir });
  let agree = 0;
  const disagreements: Disagreement[] = [];
  for (const p of problems) {
    const boxes = findBoxed(p.solution ?? "");
    const pred = boxes.length > 0 ? boxes[boxes.length - 1]!.content : null;
    const r = pred === null ? null : isEquivalent(pred, p.answer, opts);
    if (r?.verdict === "equal") agree++;
    else
      disagreements.push({
        key: p.id,
        reference: p.answer,
        extracted: pred,
        ours: false,
        theirs: true,
        reason: r?.reason ?? "no box",
      });
  }
  return { total: problems.length, agree, rate: agree / problems.length, disagreements };
}

/** Formatting perturbations of a plain GSM8K answer (all must grade equal to it). */
export function gsm8kPerturbations(answer: string): string[] {
  const n = Number(answer);
  const out = [
    `\\boxed{${answer}}`,
    `$${answer}$`,
    `${answer}.`,
    `${answer}.0`,
    ` ${answer} `,
    `\\text{${answer}}`,
  ];
  if (Number.isInteger(n) && Math.abs(n) >= 1000)
    out.push(
      Math.trunc(n).toLocaleString("en-US"),
      `${Math.trunc(n).toLocaleString("en-US").replace(/,/g, "{,}")}`,
    );
  if (n >= 0) out.push(`\\$${answer}`, `${answer} dollars`, `${answer}\\text{ units}`);
  if (Number.isInteger(n)) out.push(`${answer}.00`, `\\frac{${2 * n}}{2}`);
  return out;
}

/** GSM8K: every `####` answer against itself under {@link gsm8kPerturbations}. */
export function gsm8kPerturbationAgreement(dataDir: string, opts: GradeOptions = {}): AgreementReport {
  const problems = loadBenchmark("gsm8k", { dataDir });
  let total = 0;
  let agree = 0;
  const disagreements: Disagreement[] = [];
  for (const p of problems) {
    for (const v of gsm8kPerturbations(p.answer)) {
      total++;
      const r = isEquivalent(v, p.answer, opts);
      if (r.verdict === "equal") agree++;
      else
        disagreements.push({
          key: p.id,
          reference: p.answer,
          extracted: v,
          ours: false,
          theirs: true,
          reason: r.reason,
        });
    }
  }
  return { total, agree, rate: agree / total, disagreements };
}

/** Meaning-preserving rewrites of a reference answer (delimiters, `\dfrac`, spacing, `\left(`). */
export function equalPerturbations(answer: string): string[] {
  return [
    `$${answer}$`,
    `\\boxed{${answer}}`,
    answer.replace(/\\frac/g, "\\dfrac"),
    answer.replace(/ /g, ""),
    ` ${answer} `,
    answer.replace(/\\left|\\right/g, ""),
    answer.replace(/\(/g, "\\left(").replace(/\)/g, "\\right)"),
  ];
}

/** The answer with its last digit changed (d → d+1 mod 10), or null when it has no digit. */
export function mutateLastDigit(answer: string): string | null {
  const i = answer.search(/\d(?!.*\d)/s);
  if (i < 0) return null;
  return answer.slice(0, i) + String((Number(answer[i]) + 1) % 10) + answer.slice(i + 1);
}

export interface RobustnessReport {
  equalTotal: number;
  /** Meaning-preserving rewrites that did not grade equal. */
  equalFailures: Disagreement[];
  mutationTotal: number;
  /** Last-digit mutations that still graded equal. */
  mutationsEqual: Disagreement[];
}

/** Reference answers against {@link equalPerturbations} (must be equal) and {@link mutateLastDigit} (must not). */
export function perturbationRobustness(problems: Problem[], opts: GradeOptions = {}): RobustnessReport {
  const rep: RobustnessReport = { equalTotal: 0, equalFailures: [], mutationTotal: 0, mutationsEqual: [] };
  for (const p of problems) {
    for (const v of equalPerturbations(p.answer)) {
      rep.equalTotal++;
      const r = isEquivalent(v, p.answer, opts);
      if (r.verdict !== "equal") {
        rep.equalFailures.push({
          key: p.id,
          reference: p.answer,
          extracted: v,
          ours: false,
          theirs: true,
          reason: r.reason,
        });
      }
    }
    const m = mutateLastDigit(p.answer);
    if (m === null) continue;
    rep.mutationTotal++;
    const r = isEquivalent(m, p.answer, opts);
    if (r.verdict === "equal") {
      rep.mutationsEqual.push({
        key: p.id,
        reference: p.answer,
        extracted: m,
        ours: true,
        theirs: false,
        reason: r.reason,
      });
    }
  }
  return rep;
}
