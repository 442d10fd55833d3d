/**
 * Seeded synthetic reasoning tasks for training a tiny model from scratch: multi-step arithmetic
 * word problems and linear equations with short worked solutions ending in `\boxed{…}`, written in
 * a small character vocabulary ({@link SYNTHETIC_CHARSET}), plus an exact verifier.
 *
 * Difficulty levels 1–5 set the number of steps, operand size, operator mix, distractor
 * sentences and the share of algebra problems ({@link SYNTHETIC_LEVELS}).
 */
import { EvalMathError, truncate } from "./errors.js";
import { findBoxed } from "./extract.js";

/** Every character a synthetic question or solution can contain (build a char tokenizer from it). */
export const SYNTHETIC_CHARSET = " \n0123456789abcdefghijklmnopqrstuvwxyz.,?=+-*/\\{}";

export type SyntheticOp = "+" | "-" | "*" | "/";

export interface SyntheticLevel {
  /** Operations applied in a word problem. */
  steps: number;
  /** Largest operand of an added/subtracted amount and of the start value. */
  maxOperand: number;
  /** Largest multiplier / divisor. */
  maxFactor: number;
  ops: readonly SyntheticOp[];
  /** Irrelevant sentences inserted into the question. */
  distractors: number;
  /** Probability that a problem is a linear equation `ax+b=c` instead of a word problem. */
  algebraShare: number;
}

export const SYNTHETIC_LEVELS: Readonly<Record<1 | 2 | 3 | 4 | 5, SyntheticLevel>> = {
  1: { steps: 1, maxOperand: 9, maxFactor: 3, ops: ["+", "-"], distractors: 0, algebraShare: 0 },
  2: { steps: 2, maxOperand: 20, maxFactor: 5, ops: ["+", "-", "*"], distractors: 0, algebraShare: 0 },
  3: { steps: 3, maxOperand: 50, maxFactor: 6, ops: ["+", "-", "*", "/"], distractors: 1, algebraShare: 0.2 },
  4: {
    steps: 4,
    maxOperand: 100,
    maxFactor: 9,
    ops: ["+", "-", "*", "/"],
    distractors: 1,
    algebraShare: 0.3,
  },
  5: {
    steps: 5,
    maxOperand: 500,
    maxFactor: 12,
    ops: ["+", "-", "*", "/"],
    distractors: 2,
    algebraShare: 0.3,
  },
};

export interface SyntheticProblem {
  id: string;
  benchmark: "synthetic";
  level: number;
  kind: "word" | "algebra";
  question: string;
  /** Worked solution: one `a op b=c` line per step, then `\boxed{answer}`. */
  solution: string;
  /** The exact integer answer, as a string. */
  answer: string;
  /** Number of arithmetic steps in the solution. */
  steps: number;
}

export interface SyntheticOptions {
  seed: number;
  level: 1 | 2 | 3 | 4 | 5;
  count: number;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = ["ann", "bob", "cy", "dan", "eve", "fay", "gus", "ivy"];
const ITEMS = ["apples", "pens", "coins", "books", "cards", "eggs", "shells", "stamps"];

function wordProblem(
  r: () => number,
  lv: SyntheticLevel,
  level: number,
  idx: number,
  seed: number,
): SyntheticProblem {
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const name = pick(NAMES);
  const item = pick(ITEMS);
  let cur = int(2, lv.maxOperand);
  const sentences = [`${name} has ${cur} ${item}.`];
  const lines: string[] = [];
  for (let s = 0; s < lv.steps; s++) {
    let op = pick(lv.ops);
    // keep every intermediate a positive integer; fall back to + when an op does not fit
    if (op === "-" && cur < 2) op = "+";
    if (op === "/") {
      const divisors = [];
      for (let d = 2; d <= lv.maxFactor; d++) if (cur % d === 0 && cur / d >= 1) divisors.push(d);
      if (divisors.length === 0) op = "*";
      else {
        const d = pick(divisors);
        sentences.push(`${name} splits them into ${d} equal piles and keeps one.`);
        lines.push(`${cur}/${d}=${cur / d}`);
        cur /= d;
        continue;
      }
    }
    if (op === "*" && cur * lv.maxFactor > 10 * lv.maxOperand * lv.maxFactor) op = "-";
    if (op === "+") {
      const a = int(1, lv.maxOperand);
      sentences.push(`${name} gets ${a} more.`);
      lines.push(`${cur}+${a}=${cur + a}`);
      cur += a;
    } else if (op === "-") {
      const a = int(1, Math.min(lv.maxOperand, cur - 1));
      sentences.push(`${name} gives away ${a}.`);
      lines.push(`${cur}-${a}=${cur - a}`);
      cur -= a;
    } else {
      const f = int(2, lv.maxFactor);
      sentences.push(`the ${item} multiply by ${f}.`);
      lines.push(`${cur}*${f}=${cur * f}`);
      cur *= f;
    }
  }
  for (let d = 0; d < lv.distractors; d++) {
    const other = pick(NAMES.filter((n) => n !== name));
    const pos = 1 + Math.floor(r() * sentences.length);
    sentences.splice(pos, 0, `${other} has ${int(2, lv.maxOperand)} ${pick(ITEMS)}.`);
  }
  sentences.push(`how many ${item} does ${name} have?`);
  const answer = String(cur);
  return {
    id: `synthetic/l${level}/s${seed}/${idx}`,
    benchmark: "synthetic",
    level,
    kind: "word",
    question: sentences.join(" "),
    solution: `${lines.join("\n")}\n\\boxed{${answer}}`,
    answer,
    steps: lines.length,
  };
}

function algebraProblem(
  r: () => number,
  lv: SyntheticLevel,
  level: number,
  idx: number,
  seed: number,
): SyntheticProblem {
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const x = int(1, Math.max(2, Math.floor(lv.maxOperand / 4)));
  const a = int(2, lv.maxFactor);
  const b = int(1, lv.maxOperand);
  const c = a * x + b;
  if (level >= 5 && r() < 0.5) {
    // two-sided: ax+b=dx+e with a > d
    const d = int(1, a - 1);
    const e = (a - d) * x + b;
    const lines = [`${a}x-${d}x=${a - d}x`, `${e}-${b}=${e - b}`, `x=${e - b}/${a - d}=${x}`];
    return {
      id: `synthetic/l${level}/s${seed}/${idx}`,
      benchmark: "synthetic",
      level,
      kind: "algebra",
      question: `solve ${a}x+${b}=${d}x+${e}. what is x?`,
      solution: `${lines.join("\n")}\n\\boxed{${x}}`,
      answer: String(x),
      steps: 3,
    };
  }
  const lines = [`${a}x=${c}-${b}=${c - b}`, `x=${c - b}/${a}=${x}`];
  return {
    id: `synthetic/l${level}/s${seed}/${idx}`,
    benchmark: "synthetic",
    level,
    kind: "algebra",
    question: `solve ${a}x+${b}=${c}. what is x?`,
    solution: `${lines.join("\n")}\n\\boxed{${x}}`,
    answer: String(x),
    steps: 2,
  };
}

/** Generate `count` problems of one level; the same options always give the same problems. */
export function generateSynthetic(opts: SyntheticOptions): SyntheticProblem[] {
  const lv = SYNTHETIC_LEVELS[opts.level];
  if (lv === undefined)
    throw new EvalMathError("INVALID_ARGUMENT", `level must be 1..5, received ${truncate(opts.level)}`);
  if (!Number.isInteger(opts.count) || opts.count < 0) {
    throw new EvalMathError(
      "INVALID_ARGUMENT",
      `count must be a non-negative integer, received ${truncate(opts.count)}`,
    );
  }
  if (!Number.isInteger(opts.seed))
    throw new EvalMathError("INVALID_ARGUMENT", `seed must be an integer, received ${truncate(opts.seed)}`);
  const r = rng(opts.seed * 31 + opts.level);
  const out: SyntheticProblem[] = [];
  for (let i = 0; i < opts.count; i++) {
    out.push(
      r() < lv.algebraShare
        ? algebraProblem(r, lv, opts.level, i, opts.seed)
        : wordProblem(r, lv, opts.level, i, opts.seed),
    );
  }
  return out;
}

export interface SyntheticVerdict {
  /** The last boxed answer equals the exact answer (integer comparison, no tolerance). */
  correct: boolean;
  extracted: string | null;
  /** Every `a op b=c` line of the response is arithmetically right (and there is at least one). */
  stepsValid: boolean;
}

/** Check the `a op b=c` (and `a op b=c op d=e`) lines of a worked solution. */
export function checkArithmeticSteps(text: string): { valid: boolean; checked: number } {
  let checked = 0;
  for (const line of text.split("\n")) {
    // chains like 3x=19-4=15 or x=15/3=5: check each "expr=value" segment that is pure arithmetic
    const parts = line.split("=");
    for (let i = 0; i + 1 < parts.length; i++) {
      const lhs = parts[i]!.trim();
      const rhs = parts[i + 1]!.trim();
      const m = /^(\d+)([+\-*/])(\d+)$/.exec(lhs);
      if (!m || !/^\d+$/.test(rhs)) continue;
      const a = Number(m[1]);
      const b = Number(m[3]);
      const v =
        m[2] === "+" ? a + b : m[2] === "-" ? a - b : m[2] === "*" ? a * b : b === 0 ? Number.NaN : a / b;
      checked++;
      if (v !== Number(rhs)) return { valid: false, checked };
    }
  }
  return { valid: checked > 0, checked };
}

/** Exact verifier: the last `\boxed{}` must hold exactly the integer answer. */
export function verifySynthetic(
  problem: Pick<SyntheticProblem, "answer">,
  response: string,
): SyntheticVerdict {
  const boxes = findBoxed(response);
  const extracted = boxes.length > 0 ? boxes[boxes.length - 1]!.content.trim() : null;
  const correct =
    extracted !== null && /^-?\d+$/.test(extracted) && BigInt(extracted) === BigInt(problem.answer);
  return { correct, extracted, stepsValid: checkArithmeticSteps(response).valid };
}
