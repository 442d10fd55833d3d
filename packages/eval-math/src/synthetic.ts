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
import { mulberry32 } from "./mulberry32.js";

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
    throw new EvalMathError("ARGUMENT_INVALID", `level must be 1..5, received ${truncate(opts.level)}`);
  if (!Number.isInteger(opts.count) || opts.count < 0) {
    throw new EvalMathError(
      "ARGUMENT_INVALID",
      `count must be a non-negative integer, received ${truncate(opts.count)}`,
    );
  }
  if (!Number.isInteger(opts.seed))
    throw new EvalMathError("ARGUMENT_INVALID", `seed must be an integer, received ${truncate(opts.seed)}`);
  const r = mulberry32(opts.seed * 31 + opts.level);
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

// ───────────────────────────── chains: a smooth difficulty ladder ─────────────────────────────

/** Longest chain `generateChains` makes (difficulty labels are 1..CHAINS_MAX_STEPS). */
export const CHAINS_MAX_STEPS = 6;

/** Operators of a chain step (additions and subtractions of one small operand). */
export type ChainOp = "+" | "-";

/** One operation of a chain: apply `op` with `operand` to the running value. */
export interface ChainStep {
  readonly op: ChainOp;
  readonly operand: number;
}

/**
 * A chain problem: a start value and `steps` operations, told as a word problem in the sentences
 * of the level-1/2 synthetic problems (so a checkpoint trained on those can read it), solved by one
 * `a op b=c` line per step then `\boxed{answer}`. Every true intermediate lies in 1..maxValue.
 */
export interface ChainsProblem {
  id: string;
  benchmark: "chains";
  /** Difficulty label for strata: the number of steps (1..CHAINS_MAX_STEPS). */
  level: number;
  steps: number;
  question: string;
  /** The one correct worked solution. */
  solution: string;
  answer: string;
  start: number;
  chain: ChainStep[];
}

export interface ChainsOptions {
  seed: number;
  /** Chain length = difficulty label, 1..CHAINS_MAX_STEPS. */
  steps: number;
  count: number;
  /** Largest intermediate value (default 9: every step is single-digit arithmetic); 2..99. */
  maxValue?: number;
}

/** A seeded uniform generator on [0, 1) (the package's mulberry32, ./mulberry32.ts): pass it to {@link teacherSolution}. */
export function seededRandom(seed: number): () => number {
  if (!Number.isInteger(seed))
    throw new EvalMathError("ARGUMENT_INVALID", `seed must be an integer, received ${truncate(seed)}`);
  return mulberry32(seed);
}

function apply(a: number, op: ChainOp, b: number): number {
  return op === "+" ? a + b : a - b;
}

/** The worked solution of a chain from `start`: one `a op b=c` line per step, then the box. */
function chainSolution(start: number, chain: readonly ChainStep[]): string {
  const lines: string[] = [];
  let cur = start;
  for (const s of chain) {
    const next = apply(cur, s.op, s.operand);
    lines.push(`${cur}${s.op}${s.operand}=${next}`);
    cur = next;
  }
  return `${lines.join("\n")}\n\\boxed{${cur}}`;
}

function chainQuestion(name: string, item: string, start: number, chain: readonly ChainStep[]): string {
  const sentences = [`${name} has ${start} ${item}.`];
  for (const s of chain)
    sentences.push(s.op === "+" ? `${name} gets ${s.operand} more.` : `${name} gives away ${s.operand}.`);
  sentences.push(`how many ${item} does ${name} have?`);
  return sentences.join(" ");
}

/**
 * Generate `count` chains of exactly `steps` operations; the same options always give the same
 * problems and a shorter run is a prefix of a longer one. Each step is `+` or `−` (whichever keep
 * the value in 1..maxValue, at random) with an operand drawn uniformly from those that do.
 */
export function generateChains(opts: ChainsOptions): ChainsProblem[] {
  const { seed, steps, count } = opts;
  const maxValue = opts.maxValue ?? 9;
  if (!Number.isInteger(steps) || steps < 1 || steps > CHAINS_MAX_STEPS) {
    throw new EvalMathError(
      "ARGUMENT_INVALID",
      `steps must be an integer in 1..${CHAINS_MAX_STEPS}, received ${truncate(steps)}`,
    );
  }
  if (!Number.isInteger(count) || count < 0)
    throw new EvalMathError(
      "ARGUMENT_INVALID",
      `count must be a non-negative integer, received ${truncate(count)}`,
    );
  if (!Number.isInteger(seed))
    throw new EvalMathError("ARGUMENT_INVALID", `seed must be an integer, received ${truncate(seed)}`);
  if (!Number.isInteger(maxValue) || maxValue < 2 || maxValue > 99) {
    throw new EvalMathError(
      "ARGUMENT_INVALID",
      `maxValue must be an integer in 2..99, received ${truncate(opts.maxValue)}`,
    );
  }
  const r = mulberry32(seed * 31 + 977 * steps + maxValue);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const out: ChainsProblem[] = [];
  for (let i = 0; i < count; i++) {
    const name = pick(NAMES);
    const item = pick(ITEMS);
    const start = int(1, maxValue);
    const chain: ChainStep[] = [];
    let cur = start;
    for (let s = 0; s < steps; s++) {
      // + fits while cur < maxValue, − while cur ≥ 2; at least one always fits since maxValue ≥ 2
      const fits: ChainOp[] = [];
      if (cur < maxValue) fits.push("+");
      if (cur >= 2) fits.push("-");
      const op = pick(fits);
      const operand = op === "+" ? int(1, maxValue - cur) : int(1, cur - 1);
      chain.push({ op, operand });
      cur = apply(cur, op, operand);
    }
    out.push({
      id: `chains/k${steps}/s${seed}/${i}`,
      benchmark: "chains",
      level: steps,
      steps,
      question: chainQuestion(name, item, start, chain),
      solution: chainSolution(start, chain),
      answer: String(cur),
      start,
      chain,
    });
  }
  return out;
}

const QUESTION_START = /([a-z]+) has (\d+) ([a-z]+)\./g;

/**
 * Recover the chain told by a chain question (or a level-1/2 style synthetic word problem without
 * multiplication, division or distractors) anywhere in `text`, e.g. inside a prompt template.
 * Returns null unless the whole question follows the grammar of {@link generateChains}.
 */
export function parseChainsQuestion(text: string): { start: number; chain: ChainStep[] } | null {
  for (const m of text.matchAll(QUESTION_START)) {
    const [head, name, startText, item] = m;
    let rest = text.slice(m.index + head.length);
    const chain: ChainStep[] = [];
    for (;;) {
      const step = new RegExp(`^ ${name} (?:gets (\\d+) more|gives away (\\d+))\\.`).exec(rest);
      if (!step) break;
      chain.push(
        step[1] !== undefined ? { op: "+", operand: Number(step[1]) } : { op: "-", operand: Number(step[2]) },
      );
      rest = rest.slice(step[0].length);
    }
    if (chain.length > 0 && rest.startsWith(` how many ${item} does ${name} have?`))
      return { start: Number(startText), chain };
  }
  return null;
}

export interface ChainsVerdict {
  /** The last boxed answer equals the exact answer (as {@link verifySynthetic}). */
  correct: boolean;
  extracted: string | null;
  /**
   * The work is the chain's work: exactly one `a op b=c` line per step, in order, each with the
   * running value, the step's operator and operand, and the right result — and nothing else but
   * the final `\boxed{}` line. A wrong result, a swapped operator or a miscopied value all fail it.
   */
  workValid: boolean;
  /** Index (0-based) of the first step whose line is missing or wrong; null when the work is valid. */
  firstWrongStep: number | null;
}

const STEP_LINE = /^(-?\d+)([+-])(\d+)=(-?\d+)$/;

/** Exact verifier of a chain response: the answer and every step of the work. */
export function verifyChains(
  problem: Pick<ChainsProblem, "answer" | "start" | "chain">,
  response: string,
): ChainsVerdict {
  const { correct, extracted } = verifySynthetic(problem, response);
  const lines = response
    .split("\n")
    .map((l) => l.replace(/ /g, ""))
    .filter((l) => l.length > 0);
  const last = lines.length > 0 ? lines[lines.length - 1]! : "";
  const work = /^\\boxed\{[^{}]*\}$/.test(last) ? lines.slice(0, -1) : lines;
  let cur = problem.start;
  let firstWrongStep: number | null = null;
  for (let i = 0; i < problem.chain.length; i++) {
    const s = problem.chain[i]!;
    const next = apply(cur, s.op, s.operand);
    const m = STEP_LINE.exec(work[i] ?? "");
    if (!m || Number(m[1]) !== cur || m[2] !== s.op || Number(m[3]) !== s.operand || Number(m[4]) !== next) {
      firstWrongStep = i;
      break;
    }
    cur = next;
  }
  if (firstWrongStep === null && work.length !== problem.chain.length) firstWrongStep = problem.chain.length;
  return { correct, extracted, workValid: firstWrongStep === null, firstWrongStep };
}

// ───────────────────────────── the noisy teacher ─────────────────────────────

/**
 * Step errors of {@link teacherSolution}:
 * - `off-by-one`: the result is one too many or too few (a slip);
 * - `off-by-ten`: the result is ten too many or too few (a carry/borrow slip);
 * - `swapped-op`: the other operator is applied (and written), correctly;
 * - `wrong-copy`: the step starts from a wrong earlier number (a previous intermediate or a
 *   number of the question) instead of the running value, and is computed correctly from it.
 */
export const CHAIN_ERROR_KINDS = ["off-by-one", "off-by-ten", "swapped-op", "wrong-copy"] as const;
export type ChainErrorKind = (typeof CHAIN_ERROR_KINDS)[number];

/** Default relative weights of the error kinds (renormalised over the kinds that fit a step). */
export const DEFAULT_CHAIN_ERROR_WEIGHTS: Readonly<Record<ChainErrorKind, number>> = {
  "off-by-one": 0.4,
  "off-by-ten": 0.1,
  "swapped-op": 0.25,
  "wrong-copy": 0.25,
};

export interface TeacherOptions {
  /** Probability that each step is wrong, independently (0..1). */
  stepErrorRate: number;
  /** Uniform [0, 1) source, e.g. {@link seededRandom}; the same sequence gives the same solution. */
  rng: () => number;
  /** Relative weights of the error kinds (default {@link DEFAULT_CHAIN_ERROR_WEIGHTS}); 0 disables a kind. */
  weights?: Partial<Record<ChainErrorKind, number>>;
}

export interface TeacherLine {
  a: number;
  op: ChainOp;
  b: number;
  c: number;
  /** The kind of error made in this step, or null when the step is right given its start `a`. */
  error: ChainErrorKind | null;
}

export interface TeacherSolution {
  /** The worked solution as written: one `a op b=c` line per step, then `\boxed{answer}`. */
  text: string;
  lines: TeacherLine[];
  /** The steps that were wrong, in order. */
  errors: { step: number; kind: ChainErrorKind }[];
  answer: string;
  /** The teacher's answer is the true answer; false exactly when some step was wrong. */
  correct: boolean;
  stepErrorRate: number;
}

/**
 * A worked solution from a noisy teacher: each step is wrong with probability `stepErrorRate`,
 * independently, with an error kind drawn by `weights` among the kinds that fit the step. Errors
 * are carried forward: later steps start from the value the teacher wrote. The deviation from the
 * true running value keeps one sign once an error is made, so errors never cancel and the final
 * answer is wrong exactly when some step is. Values never go below 0 except in the rare step where
 * no kind fits, which falls back to an off-by-one in the deviation's direction.
 */
export function teacherSolution(
  problem: Pick<ChainsProblem, "start" | "chain">,
  options: TeacherOptions,
): TeacherSolution {
  const p = options.stepErrorRate;
  if (typeof p !== "number" || !(p >= 0 && p <= 1)) {
    throw new EvalMathError(
      "ARGUMENT_INVALID",
      `stepErrorRate must be a number in 0..1, received ${truncate(p)}`,
    );
  }
  const weights = { ...DEFAULT_CHAIN_ERROR_WEIGHTS, ...options.weights };
  for (const k of CHAIN_ERROR_KINDS) {
    const w = weights[k];
    if (!(typeof w === "number" && Number.isFinite(w) && w >= 0)) {
      throw new EvalMathError(
        "ARGUMENT_INVALID",
        `weights["${k}"] must be a finite number ≥ 0, received ${truncate(w)}`,
      );
    }
  }
  if (CHAIN_ERROR_KINDS.every((k) => weights[k] === 0) && p > 0)
    throw new EvalMathError(
      "ARGUMENT_INVALID",
      "weights must enable at least one error kind when stepErrorRate > 0",
    );
  const r = options.rng;
  const sign = (x: number) => (x > 0 ? 1 : x < 0 ? -1 : 0);
  const lines: TeacherLine[] = [];
  const errors: { step: number; kind: ChainErrorKind }[] = [];
  // numbers a miscopy can start from: the question's numbers and every value written so far
  const seen: number[] = [problem.start, ...problem.chain.map((s) => s.operand)];
  let truth = problem.start;
  let cur = problem.start;
  problem.chain.forEach((s, i) => {
    const trueNext = apply(truth, s.op, s.operand);
    const right = apply(cur, s.op, s.operand);
    let line: TeacherLine = { a: cur, op: s.op, b: s.operand, c: right, error: null };
    if (r() < p) {
      const dir = sign(cur - truth);
      // candidate wrong lines per kind: each keeps the deviation non-zero and of sign `dir` (when set)
      const ok = (c: number) => c >= 0 && c !== trueNext && (dir === 0 || sign(c - trueNext) === dir);
      const candidates: Partial<Record<ChainErrorKind, TeacherLine[]>> = {};
      const slip = (size: number): TeacherLine[] =>
        [right + size, right - size]
          .filter(ok)
          .map((c) => ({ a: cur, op: s.op, b: s.operand, c, error: null }));
      candidates["off-by-one"] = slip(1);
      candidates["off-by-ten"] = slip(10);
      const other: ChainOp = s.op === "+" ? "-" : "+";
      candidates["swapped-op"] = [apply(cur, other, s.operand)]
        .filter(ok)
        .map((c) => ({ a: cur, op: other, b: s.operand, c, error: null }));
      candidates["wrong-copy"] = [...new Set(seen)]
        .filter((a) => a !== cur && ok(apply(a, s.op, s.operand)))
        .map((a) => ({ a, op: s.op, b: s.operand, c: apply(a, s.op, s.operand), error: null }));
      const kinds = CHAIN_ERROR_KINDS.filter((k) => weights[k] > 0 && candidates[k]!.length > 0);
      let kind: ChainErrorKind = "off-by-one";
      let choice: TeacherLine;
      if (kinds.length === 0) {
        choice = { a: cur, op: s.op, b: s.operand, c: right + (dir === 0 ? 1 : dir), error: null };
      } else {
        const total = kinds.reduce((t, k) => t + weights[k], 0);
        let u = r() * total;
        kind = kinds[kinds.length - 1]!;
        for (const k of kinds) {
          u -= weights[k];
          if (u < 0) {
            kind = k;
            break;
          }
        }
        const options = candidates[kind]!;
        choice = options[Math.floor(r() * options.length)]!;
      }
      line = { ...choice, error: kind };
      errors.push({ step: i, kind });
    }
    lines.push(line);
    seen.push(line.c);
    cur = line.c;
    truth = trueNext;
  });
  const answer = String(cur);
  return {
    text: `${lines.map((l) => `${l.a}${l.op}${l.b}=${l.c}`).join("\n")}\n\\boxed{${answer}}`,
    lines,
    errors,
    answer,
    correct: cur === truth,
    stepErrorRate: p,
  };
}
