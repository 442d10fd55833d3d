/**
 * Loaders for the eight math benchmarks in `<dataDir>/benchmarks/<name>/test.jsonl` and the
 * chain-of-thought prompt template.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { jsonlLines, parseJsonlLine } from "@sage/core";
import { EvalMathError, truncate } from "./errors.js";
import { extractAnswer, findBoxed, stripAnswerDelimiters } from "./extract.js";

export const BENCHMARK_NAMES = [
  "math500",
  "aime24",
  "amc23",
  "minerva_math",
  "olympiadbench",
  "gaokao2023en",
  "college_math",
  "gsm8k",
] as const;

export type BenchmarkName = (typeof BENCHMARK_NAMES)[number];

export interface Problem {
  /** Stable id within the benchmark (e.g. `math500/test/precalculus/807.json`). */
  id: string;
  /** A {@link BenchmarkName}, or another label (e.g. `synthetic`). */
  benchmark: string;
  question: string;
  /** Reference final answer (LaTeX, without `$` delimiters). */
  answer: string;
  subject?: string;
  level?: number;
  /** Worked reference solution when the set has one. */
  solution?: string;
}

export interface LoadBenchmarkOptions {
  /** Folder holding `benchmarks/<name>/test.jsonl` (the shared data folder). */
  dataDir: string;
  /** Keep only the first `limit` problems. */
  limit?: number;
  /**
   * Keep rows whose reference answer is empty (they cannot be graded: gaokao2023en has 2).
   * Default false: such rows are dropped.
   */
  keepEmptyAnswers?: boolean;
}

function str(row: Record<string, unknown>, key: string, where: string): string {
  const v = row[key];
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  throw new EvalMathError(
    "DATA_INVALID",
    `${where}: expected field "${key}" to be a string, received ${truncate(v)}`,
  );
}

function optStr(row: Record<string, unknown>, key: string): string | undefined {
  const v = row[key];
  return typeof v === "string" && v.length > 0 ? v : undefined;
}

/** `27.0` → `27`; other strings unchanged. */
function cleanNumber(s: string): string {
  return /^-?\d+\.0+$/.test(s) ? s.replace(/\.0+$/, "") : s;
}

function lastBoxed(solution: string, where: string): string {
  const b = findBoxed(solution);
  if (b.length === 0)
    throw new EvalMathError(
      "DATA_INVALID",
      `${where}: no \\boxed{} answer in solution ${truncate(solution)}`,
    );
  return b[b.length - 1]!.content;
}

/**
 * The reference of a GSM8K answer field, in either style: the original worked solution ending in
 * `#### N`, or the chain-of-thought style ending in "The answer is N." / "A: N"; a field that is
 * just a number is its own reference. Thousands separators are removed. Null when none is found.
 */
export function gsm8kReference(field: string): string | null {
  const t = field.trim();
  if (/^-?\$?\d[\d,]*(?:\.\d+)?$/.test(t)) return t.replace(/[$,]/g, "");
  const ex = extractAnswer(t, { order: ["gsm8k", "short-answer", "answer-is"] });
  if (ex === null) return null;
  const v = ex.answer
    .replace(/^\\?\$/, "")
    .replace(/,/g, "")
    .trim();
  return v === "" ? null : v;
}

function toProblem(name: BenchmarkName, row: Record<string, unknown>, index: number): Problem {
  const where = `${name} row ${index + 1}`;
  switch (name) {
    case "math500": {
      const p: Problem = {
        id: `math500/${str(row, "unique_id", where)}`,
        benchmark: name,
        question: str(row, "problem", where),
        answer: str(row, "answer", where),
        subject: str(row, "subject", where),
        solution: str(row, "solution", where),
      };
      if (typeof row.level === "number") p.level = row.level;
      return p;
    }
    case "aime24":
    case "amc23": {
      const p: Problem = {
        id: `${name}/${str(row, "id", where)}`,
        benchmark: name,
        question: str(row, "problem", where),
        answer: cleanNumber(str(row, "answer", where)),
      };
      const sol = optStr(row, "solution");
      if (sol !== undefined) p.solution = sol;
      return p;
    }
    case "minerva_math": {
      const solution = str(row, "solution", where);
      return {
        id: `minerva_math/${str(row, "idx", where)}`,
        benchmark: name,
        question: str(row, "problem", where),
        answer: lastBoxed(solution, where),
        subject: str(row, "type", where),
        solution,
      };
    }
    case "olympiadbench": {
      const fa = row.final_answer;
      let answers: string[];
      if (Array.isArray(fa)) answers = fa.map((x) => String(x));
      else if (typeof fa === "string") {
        // a list written as a string, e.g. "['$1$', '$2$']"
        const m = fa.match(/'((?:[^'\\]|\\.)*)'/g);
        answers = m ? m.map((x) => x.slice(1, -1)) : [fa];
      } else
        throw new EvalMathError(
          "DATA_INVALID",
          `${where}: final_answer must be a list, received ${truncate(fa)}`,
        );
      if (answers.length === 0) throw new EvalMathError("DATA_INVALID", `${where}: empty final_answer`);
      const context = optStr(row, "context");
      const p: Problem = {
        id: `olympiadbench/${str(row, "id", where)}`,
        benchmark: name,
        question:
          context !== undefined
            ? `${context}\n\n${str(row, "question", where)}`
            : str(row, "question", where),
        answer: answers.map((a) => stripAnswerDelimiters(a)).join(", "),
        subject: str(row, "subfield", where),
      };
      const sol = row.solution;
      if (Array.isArray(sol) && typeof sol[0] === "string") p.solution = sol[0];
      return p;
    }
    case "gaokao2023en":
      return {
        id: `gaokao2023en/${str(row, "source", where)}#${index}`,
        benchmark: name,
        question: str(row, "question", where),
        answer: stripAnswerDelimiters(str(row, "answer", where)),
      };
    case "college_math":
      return {
        id: `college_math/${str(row, "question_number", where)}#${index}`,
        benchmark: name,
        question: str(row, "question", where),
        answer: stripAnswerDelimiters(str(row, "answer", where)),
        subject: str(row, "data_topic", where).replace(/^college_math\./, ""),
      };
    case "gsm8k": {
      const sol = str(row, "answer", where);
      const answer = gsm8kReference(sol);
      if (answer === null)
        throw new EvalMathError(
          "DATA_INVALID",
          `${where}: expected the answer field to end in "#### N", "The answer is N." or "A: N", or to be a bare number; received ${truncate(sol)}`,
        );
      const id = row.idx ?? row.id ?? index;
      return {
        id: `gsm8k/${typeof id === "string" || typeof id === "number" ? id : index}`,
        benchmark: name,
        question: str(row, "question", where),
        answer,
        solution: sol,
      };
    }
  }
}

/** Read `<dataDir>/benchmarks/<name>/test.jsonl` as {@link Problem}s. */
export function loadBenchmark(name: string, opts: LoadBenchmarkOptions): Problem[] {
  if (!(BENCHMARK_NAMES as readonly string[]).includes(name)) {
    throw new EvalMathError(
      "BENCHMARK_UNKNOWN",
      `unknown benchmark ${truncate(name)}; expected one of ${BENCHMARK_NAMES.join(", ")}`,
    );
  }
  const file = path.join(opts.dataDir, "benchmarks", name, "test.jsonl");
  if (!existsSync(file)) {
    throw new EvalMathError(
      "DATA_MISSING",
      `benchmark file not found: ${file} (expected the shared data folder as dataDir)`,
    );
  }
  const out: Problem[] = [];
  let rowIndex = 0;
  for (const { line: n, text } of jsonlLines(readFileSync(file, "utf8"))) {
    let row: unknown;
    try {
      row = parseJsonlLine(text, n, file);
    } catch (e) {
      throw new EvalMathError("DATA_INVALID", `${file}:${n}: invalid JSON: ${truncate(text.trim())}`, {
        cause: e,
      });
    }
    if (row === null || typeof row !== "object" || Array.isArray(row)) {
      throw new EvalMathError(
        "DATA_INVALID",
        `${file}:${n}: expected a JSON object, received ${truncate(text.trim())}`,
      );
    }
    const p = toProblem(name as BenchmarkName, row as Record<string, unknown>, rowIndex++);
    if (p.answer.trim() === "" && opts.keepEmptyAnswers !== true) continue;
    out.push(p);
    if (opts.limit !== undefined && out.length >= opts.limit) break;
  }
  return out;
}

/** Default chain-of-thought instruction (the Qwen2.5-Math / MATH convention). */
export const COT_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}.";

/** Build the chain-of-thought prompt for a problem. `template` may use `{question}`. */
export function buildPrompt(
  problem: Pick<Problem, "question">,
  template = `{question}\n\n${COT_INSTRUCTION}`,
): string {
  if (!template.includes("{question}")) {
    throw new EvalMathError(
      "ARGUMENT_INVALID",
      `prompt template must contain "{question}", received ${truncate(template)}`,
    );
  }
  return template.split("{question}").join(problem.question);
}
