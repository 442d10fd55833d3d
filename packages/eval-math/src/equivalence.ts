/**
 * Answer equivalence: normalise → parse (see `latex.ts`) → compare structurally, symbolically
 * (mathjs `simplify` of the difference) and numerically (seeded random points).
 *
 * Every check is bounded by construction and counted in steps (see {@link StepCounter}), never
 * in milliseconds: inputs longer than {@link MAX_NORMALIZE_LENGTH} are rejected before any
 * rule runs; parse limits (length, tokens, depth); a node limit for symbolic simplification;
 * factorials and binomials whose exact value would take long are compared by magnitude
 * (log-gamma) or not at all; and a step budget (`maxSteps`) charged before every superlinear call
 * turns a long comparison into `unknown`. Nothing is evaluated as JavaScript: mathjs compiles
 * trees we build.
 */
import { all, create, type EvalFunction, type MathNode, parse as mathParse, simplify } from "mathjs";
import { EvalMathError, StepBudgetExceeded, StepCounter, truncate } from "./errors.js";
import {
  countNodes,
  DEFAULT_PARSE_LIMITS,
  type Expr,
  expandPm,
  freeSymbols,
  LatexParseError,
  PARSE_WORK_PER_TOKEN,
  type ParseLimits,
  parseLatex,
  type RelOp,
  symbolId,
  toMathjs,
} from "./latex.js";
import { mulberry32 } from "./mulberry32.js";
import { MAX_NORMALIZE_LENGTH, type NormalizedAnswer, normalizeAnswer, textKey } from "./normalize.js";

export type Verdict = "equal" | "not-equal" | "unknown" | "unparseable";

export interface EquivalenceResult {
  verdict: Verdict;
  /** One line saying which rule decided. */
  reason: string;
}

export interface EquivalenceOptions {
  /** Relative tolerance for numeric comparison. Default 1e-6. */
  relTol?: number;
  /** Absolute tolerance, used only when one side is exactly 0 (e.g. `\\sin\\pi` vs `0`). Default 1e-10. */
  absTol?: number;
  /** Also accept x vs x·100 and x vs x/100 (e.g. `25\%` vs `0.25`). Default false. */
  percentLeniency?: boolean;
  /** Compare bare comma lists (`1, 2`) as unordered multisets. Default true. */
  unorderedLists?: boolean;
  /** Accept equations that differ by a non-zero constant factor (`2x+2y=2` vs `x+y=1`). Default true; sign flips and moved sides are always accepted. */
  equationScaling?: boolean;
  /** Random points for numeric comparison of expressions with variables. Default 8. */
  numericPoints?: number;
  /** Seed of the random points. Default 20240607. */
  seed?: number;
  /**
   * Use mathjs `simplify(a - b) == 0` when the numeric check is inconclusive (too few evaluable
   * points, or values that overflow). Default true.
   */
  symbolic?: boolean;
  /** Largest combined node count given to `simplify`. Default 40. */
  maxSymbolicNodes?: number;
  /**
   * Step budget per comparison (see {@link StepCounter}); a comparison that would need more
   * returns `unknown`. Default {@link DEFAULT_MAX_STEPS}.
   */
  maxSteps?: number;
  /** Counts the steps taken; pass one to read `counter.steps` afterwards. */
  counter?: StepCounter;
  /** Parser limits. Defaults {@link DEFAULT_PARSE_LIMITS}. */
  limits?: Partial<ParseLimits>;
}

interface Ctx {
  relTol: number;
  absTol: number;
  percentLeniency: boolean;
  unorderedLists: boolean;
  equationScaling: boolean;
  numericPoints: number;
  seed: number;
  symbolic: boolean;
  maxSymbolicNodes: number;
  counter: StepCounter;
}

/** Default step budget of one comparison. */
export const DEFAULT_MAX_STEPS = 2_000_000;
/** Steps charged per node for one mathjs `simplify` call (the costliest library call). */
export const SIMPLIFY_STEPS_PER_NODE = 5_000;
/** Steps charged per node for one 64-digit BigNumber evaluation. */
export const BIGNUMBER_STEPS_PER_NODE = 2_000;
/** Steps charged per node for one double-precision evaluation. */
const EVAL_STEPS_PER_NODE = 20;
/** Largest n whose n! is evaluated (as a double, or exactly with BigNumbers); beyond: magnitude. */
const MAX_FACTORIAL_ARG = 1000;
/** Largest min(k, n−k) of a binomial that is evaluated; beyond: magnitude. */
const MAX_BINOMIAL_LOOP = 1000;

const eq = (reason: string): EquivalenceResult => ({ verdict: "equal", reason });
const ne = (reason: string): EquivalenceResult => ({ verdict: "not-equal", reason });
const unk = (reason: string): EquivalenceResult => ({ verdict: "unknown", reason });

function checkBudget(ctx: Ctx, steps = 1): void {
  ctx.counter.charge(steps);
}

function validateOptions(o: EquivalenceOptions): void {
  const pos = (name: string, v: number | undefined, allowZero = false) => {
    if (v !== undefined && !(Number.isFinite(v) && (allowZero ? v >= 0 : v > 0))) {
      throw new EvalMathError(
        "ARGUMENT_INVALID",
        `${name} must be a ${allowZero ? "non-negative" : "positive"} finite number, received ${truncate(v)}`,
      );
    }
  };
  pos("relTol", o.relTol, true);
  pos("absTol", o.absTol, true);
  pos("numericPoints", o.numericPoints);
  pos("maxSymbolicNodes", o.maxSymbolicNodes, true);
  pos("maxSteps", o.maxSteps);
  if ((o as { timeBudgetMs?: unknown }).timeBudgetMs !== undefined) {
    throw new EvalMathError(
      "ARGUMENT_INVALID",
      `timeBudgetMs is no longer supported (received ${truncate((o as { timeBudgetMs?: unknown }).timeBudgetMs)}): work is bounded in counted steps, not milliseconds; pass maxSteps (default ${DEFAULT_MAX_STEPS}) instead`,
    );
  }
  if (o.counter !== undefined && !(o.counter instanceof StepCounter)) {
    throw new EvalMathError(
      "ARGUMENT_INVALID",
      `counter must be a StepCounter, received ${truncate(o.counter)}`,
    );
  }
  if (o.numericPoints !== undefined && !Number.isInteger(o.numericPoints)) {
    throw new EvalMathError(
      "ARGUMENT_INVALID",
      `numericPoints must be an integer, received ${o.numericPoints}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// numeric evaluation through mathjs (compiled trees, cached)

const compiled = new Map<string, EvalFunction>();
function compile(src: string): EvalFunction {
  let f = compiled.get(src);
  if (f === undefined) {
    f = mathParse(src).compile();
    if (compiled.size > 5000) compiled.clear();
    compiled.set(src, f);
  }
  return f;
}

interface C {
  re: number;
  im: number;
}

function toComplex(v: unknown): C | null {
  if (typeof v === "number") return Number.isNaN(v) ? null : { re: v, im: 0 };
  if (v !== null && typeof v === "object" && "re" in v && "im" in v) {
    const re = (v as { re: unknown }).re;
    const im = (v as { im: unknown }).im;
    if (typeof re === "number" && typeof im === "number" && !Number.isNaN(re) && !Number.isNaN(im)) {
      return { re, im: Math.abs(im) < 1e-12 * Math.max(1, Math.abs(re)) ? 0 : im };
    }
  }
  return null;
}

function evalExpr(e: Expr, scope: Record<string, number>, ctx: Ctx): C | null {
  const nodes = countNodes(e);
  checkBudget(ctx, EVAL_STEPS_PER_NODE * nodes);
  if (hugeIntegerFunction(e, scope, ctx)) return null;
  try {
    return toComplex(compile(toMathjs(e)).evaluate({ ...scope }));
  } catch {
    return null;
  }
}

/**
 * Relative comparison; the absolute tolerance only applies against an exact 0 (rounding noise of a
 * cancelling expression), so tiny physical constants like 1.3e-27 vs 1.3e-28 stay different.
 */
function close(a: number, b: number, ctx: Ctx): boolean {
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  if (a === 0 || b === 0) return Math.abs(a - b) <= ctx.absTol;
  return Math.abs(a - b) <= ctx.relTol * Math.max(Math.abs(a), Math.abs(b));
}

function closeC(a: C, b: C, ctx: Ctx): boolean {
  return close(a.re, b.re, ctx) && close(a.im, b.im, ctx);
}

function isFiniteC(a: C): boolean {
  return Number.isFinite(a.re) && Number.isFinite(a.im);
}

/**
 * Largest integer point. With an integer function (floor, ceil, factorial, binomial, gcd, lcm) the
 * two sides are step functions that may differ at a few integers only (⌊√(n−2)⌋ and ⌊√(n−3)⌋ differ
 * at n − 2 a perfect square: 7 of 1..48), which a handful of random draws misses about one time in
 * five; so one variable is checked at every integer 1..INTEGER_GRID, several at that many tuples.
 */
const INTEGER_GRID = 48;

/**
 * Seeded points: half with every variable in [0.3, 2.7], half in [-2.7, -0.3]; when an integer
 * function appears, integers instead: every n in 1..{@link INTEGER_GRID} for one variable, that many
 * seeded tuples of integers in [1, INTEGER_GRID] for several.
 */
function samplePoints(vars: string[], ctx: Ctx, integers = false): Array<Record<string, number>> {
  const rnd = mulberry32(ctx.seed);
  const pts: Array<Record<string, number>> = [];
  if (integers) {
    const count = Math.max(ctx.numericPoints, INTEGER_GRID);
    for (let p = 0; p < count; p++) {
      const scope: Record<string, number> = {};
      for (const v of vars) {
        scope[`v_${symbolId(v)}`] =
          vars.length === 1 ? 1 + (p % INTEGER_GRID) : 1 + Math.floor(INTEGER_GRID * rnd());
      }
      pts.push(scope);
    }
    return pts;
  }
  for (let p = 0; p < ctx.numericPoints; p++) {
    const sign = p % 2 === 0 ? 1 : -1;
    const scope: Record<string, number> = {};
    for (const v of vars) scope[`v_${symbolId(v)}`] = sign * (0.3 + 2.4 * rnd());
    pts.push(scope);
  }
  return pts;
}

const INTEGER_FUNCTIONS = /\b(?:floor|ceil|factorial|combinations|gcd|lcm)\(/;

function needsIntegerPoints(a: Expr, b: Expr): boolean {
  try {
    return INTEGER_FUNCTIONS.test(toMathjs(a)) || INTEGER_FUNCTIONS.test(toMathjs(b));
  } catch {
    return false;
  }
}

function usesI(e: Expr): boolean {
  try {
    return /\bi\b/.test(toMathjs(e));
  } catch {
    return false;
  }
}

/** Every direct child of a tree node. */
function children(e: Expr): Expr[] {
  switch (e.k) {
    case "bin":
      return [e.a, e.b];
    case "neg":
      return [e.a];
    case "pm":
      return e.b ? [e.a, e.b] : [e.a];
    case "fn":
      return e.args;
    case "seq":
      return e.items;
    case "rel":
    case "union":
      return e.parts;
    case "matrix":
      return e.rows.flat();
    default:
      return [];
  }
}

/** Evaluate a subtree already known to hold no huge factorial/binomial. */
function rawEval(e: Expr, scope: Record<string, number>, ctx: Ctx): C | null {
  checkBudget(ctx, EVAL_STEPS_PER_NODE * countNodes(e));
  try {
    return toComplex(compile(toMathjs(e)).evaluate({ ...scope }));
  } catch {
    return null;
  }
}

/**
 * Whether the tree holds a factorial or binomial too large to evaluate in a bounded step (an
 * argument over {@link MAX_FACTORIAL_ARG}, or a binomial loop over {@link MAX_BINOMIAL_LOOP}).
 * Checked bottom-up, so an argument is only evaluated once its own subtree is known to be small.
 */
function hugeIntegerFunction(e: Expr, scope: Record<string, number>, ctx: Ctx): boolean {
  for (const c of children(e)) if (hugeIntegerFunction(c, scope, ctx)) return true;
  if (e.k !== "fn" || (e.name !== "factorial" && e.name !== "binom")) return false;
  const vals = e.args.map((a) => rawEval(a, scope, ctx));
  if (vals.some((v) => v !== null && !isFiniteC(v))) return true;
  if (e.name === "factorial") {
    const n = vals[0];
    return n !== null && n !== undefined && n.re > MAX_FACTORIAL_ARG;
  }
  const n = vals[0];
  const k = vals[1];
  if (n === null || k === null || n === undefined || k === undefined) return false;
  return Math.min(Math.abs(k.re), Math.abs(n.re - k.re)) > MAX_BINOMIAL_LOOP || n.re > 1e7;
}

/** ln Γ(x) for x > 0 (Stirling series after shifting x above 10; about 1e-15 relative). */
function lnGamma(x: number): number {
  let shift = 0;
  let y = x;
  while (y < 10) {
    shift += Math.log(y);
    y += 1;
  }
  const y2 = y * y;
  const series = 1 / (12 * y) - 1 / (360 * y * y2) + 1 / (1260 * y * y2 * y2);
  return (y - 0.5) * Math.log(y) - y + 0.5 * Math.log(2 * Math.PI) + series - shift;
}

interface Magnitude {
  sign: 1 | -1;
  /** ln of the absolute value. */
  log: number;
}

/** Sign and natural log of the absolute value of a constant tree, or null when not computable. */
function magnitude(e: Expr, ctx: Ctx): Magnitude | null {
  checkBudget(ctx, EVAL_STEPS_PER_NODE);
  switch (e.k) {
    case "neg": {
      const m = magnitude(e.a, ctx);
      return m === null ? null : { sign: m.sign === 1 ? -1 : 1, log: m.log };
    }
    case "fn": {
      if (e.name === "factorial" || e.name === "binom") {
        const vals = e.args.map((a) => (hugeIntegerFunction(a, {}, ctx) ? null : rawEval(a, {}, ctx)));
        if (vals.some((v) => v === null || v.im !== 0 || !Number.isInteger(v.re) || v.re < 0)) return null;
        const n = vals[0]!.re;
        if (e.name === "factorial") return { sign: 1, log: lnGamma(n + 1) };
        const k = vals[1]!.re;
        if (k > n) return null;
        return { sign: 1, log: lnGamma(n + 1) - lnGamma(k + 1) - lnGamma(n - k + 1) };
      }
      break;
    }
    case "bin": {
      const a = magnitude(e.a, ctx);
      if (e.op === "^") {
        const ex = hugeIntegerFunction(e.b, {}, ctx) ? null : rawEval(e.b, {}, ctx);
        if (a === null || ex === null || ex.im !== 0) return null;
        if (a.sign === -1 && !Number.isInteger(ex.re)) return null;
        const sign = a.sign === -1 && Math.abs(ex.re % 2) === 1 ? -1 : 1;
        return { sign, log: ex.re * a.log };
      }
      const b = magnitude(e.b, ctx);
      if (a === null || b === null) return null;
      if (e.op === "*") return { sign: a.sign === b.sign ? 1 : -1, log: a.log + b.log };
      if (e.op === "/") return { sign: a.sign === b.sign ? 1 : -1, log: a.log - b.log };
      const bs = e.op === "-" ? (b.sign === 1 ? -1 : 1) : b.sign;
      const [hi, lo] = a.log >= b.log ? [a, { sign: bs, log: b.log }] : [{ sign: bs, log: b.log }, a];
      const r = Math.exp(lo.log - hi.log);
      const same = hi.sign === lo.sign;
      if (!same && r === 1) return null; // cancels: the difference is below the log's precision
      return { sign: hi.sign as 1 | -1, log: hi.log + Math.log1p(same ? r : -r) };
    }
    default:
      break;
  }
  if (hugeIntegerFunction(e, {}, ctx)) return null;
  const v = rawEval(e, {}, ctx);
  if (v === null || v.im !== 0 || !Number.isFinite(v.re) || v.re === 0) return null;
  return { sign: v.re > 0 ? 1 : -1, log: Math.log(Math.abs(v.re)) };
}

/**
 * Compare constants too large to evaluate (`(10^9)!`, `\binom{10^9}{5\cdot10^8}`) by the sign and
 * logarithm of their magnitude: equal when the logs agree to within `relTol` after allowing for
 * rounding of the logs themselves, not equal when they clearly differ, otherwise unknown.
 */
function compareMagnitudes(a: Expr, b: Expr, ctx: Ctx): EquivalenceResult {
  const ma = magnitude(a, ctx);
  const mb = magnitude(b, ctx);
  if (ma === null || mb === null || !Number.isFinite(ma.log) || !Number.isFinite(mb.log)) {
    return unk("too large to evaluate exactly, and the magnitude could not be computed");
  }
  if (ma.sign !== mb.sign) return ne("magnitude: opposite signs");
  const d = Math.abs(ma.log - mb.log);
  // error of the logs: a few ulps of the largest log, plus the series error
  const err = 1e-13 * Math.max(1, Math.abs(ma.log), Math.abs(mb.log));
  if (d + err <= ctx.relTol) return eq(`magnitude: ln values agree (|Δln| ≤ ${ctx.relTol})`);
  if (d - err > ctx.relTol) {
    return ne(`magnitude: ln|a| = ${ma.log.toPrecision(10)} vs ln|b| = ${mb.log.toPrecision(10)}`);
  }
  return unk("magnitude: too close to decide without exact arithmetic");
}

/**
 * Whether a constant tree is undefined: a division by zero, `0` to a negative power, or the log of
 * 0. Undefined values are never equal to anything (`\frac{1}{0}` is not `\infty`).
 */
function isUndefinedValue(e: Expr, ctx: Ctx): boolean {
  for (const c of children(e)) if (isUndefinedValue(c, ctx)) return true;
  const zero = (x: Expr): boolean => {
    if (freeSymbols(x).size > 0 || hugeIntegerFunction(x, {}, ctx)) return false;
    const v = rawEval(x, {}, ctx);
    return v !== null && v.re === 0 && v.im === 0;
  };
  if (e.k === "bin" && e.op === "/") return zero(e.b);
  if (e.k === "bin" && e.op === "^") {
    if (!zero(e.a) || freeSymbols(e.b).size > 0) return false;
    const ex = rawEval(e.b, {}, ctx);
    return ex !== null && ex.re < 0;
  }
  if (e.k === "fn" && (e.name === "log" || e.name === "log10")) return zero(e.args[0]!);
  return false;
}

function symbolicZero(a: Expr, b: Expr, op: "-" | "+", ctx: Ctx): boolean | null {
  const nodes = countNodes(a) + countNodes(b);
  if (!ctx.symbolic || nodes > ctx.maxSymbolicNodes) return null;
  // constant folding inside simplify would evaluate a huge factorial/binomial in one step
  if (hugeIntegerFunction(a, {}, ctx) || hugeIntegerFunction(b, {}, ctx)) return null;
  checkBudget(ctx, SIMPLIFY_STEPS_PER_NODE * nodes);
  try {
    const s: MathNode = simplify(`(${toMathjs(a)}) ${op} (${toMathjs(b)})`);
    return s.type === "ConstantNode" && (s as unknown as { value: unknown }).value === 0;
  } catch {
    return null;
  }
}

/** A plain integer literal (optionally negated) as a BigInt, else null. */
function intLiteral(e: Expr): bigint | null {
  if (e.k === "num" && /^\d+$/.test(e.text)) return BigInt(e.text);
  if (e.k === "neg") {
    const v = intLiteral(e.a);
    return v === null ? null : -v;
  }
  return null;
}

function hasInfinity(e: Expr): boolean {
  try {
    return /Infinity/.test(toMathjs(e));
  } catch {
    return false;
  }
}

let bigMath: ReturnType<typeof create> | null = null;

/** Compare two constant expressions with 64-significant-digit BigNumbers; null when not possible. */
function bigCompare(a: Expr, b: Expr, ctx: Ctx): EquivalenceResult | null {
  checkBudget(ctx, BIGNUMBER_STEPS_PER_NODE * (countNodes(a) + countNodes(b)));
  if (all === undefined) return null;
  bigMath ??= create(all, { number: "BigNumber", precision: 64 });
  const m = bigMath;
  try {
    const va = m.evaluate(toMathjs(a)) as unknown;
    const vb = m.evaluate(toMathjs(b)) as unknown;
    if (!m.isBigNumber(va) || !m.isBigNumber(vb) || !va.isFinite() || !vb.isFinite()) return null;
    const diff = va.minus(vb).abs();
    const scale = m.max(va.abs(), vb.abs()) as typeof va;
    const ok = diff.lte(scale.times(ctx.relTol).plus(ctx.absTol));
    return ok
      ? eq(`bignumber: equal to ${ctx.relTol} relative`)
      : ne(`bignumber: ${va.toPrecision(8)} ≠ ${vb.toPrecision(8)}`);
  } catch {
    return null;
  }
}

function compareScalar(a: Expr, b: Expr, ctx: Ctx): EquivalenceResult {
  const ia = intLiteral(a);
  const ib = intLiteral(b);
  if (ia !== null && ib !== null && !ctx.percentLeniency) {
    return ia === ib
      ? eq("integers: exactly equal")
      : ne(`integers: ${ia} ≠ ${ib} (integers compare exactly)`);
  }
  const vars = [...freeSymbols(a, freeSymbols(b))].sort();
  if (vars.length === 0) {
    if (isUndefinedValue(a, ctx) || isUndefinedValue(b, ctx)) {
      return ne("undefined value (division by zero): not equal to anything");
    }
    if (hugeIntegerFunction(a, {}, ctx) || hugeIntegerFunction(b, {}, ctx)) {
      return compareMagnitudes(a, b, ctx);
    }
    const va = evalExpr(a, {}, ctx);
    const vb = evalExpr(b, {}, ctx);
    if (va === null || vb === null) {
      if (symbolicZero(a, b, "-", ctx) === true) return eq("symbolic: difference simplifies to 0");
      return unk("could not evaluate numerically");
    }
    if (!isFiniteC(va) || !isFiniteC(vb)) {
      if (hasInfinity(a) || hasInfinity(b)) {
        if (va.re === vb.re && va.im === vb.im) return eq("both the same infinity");
        return ne(`numeric: ${fmt(va)} vs ${fmt(vb)}`);
      }
      // overflow of doubles (2^{2000}): redo the comparison with 64-digit BigNumbers
      const big = bigCompare(a, b, ctx);
      if (big !== null) return big;
      const mag = compareMagnitudes(a, b, ctx);
      if (mag.verdict !== "unknown") return mag;
      if (symbolicZero(a, b, "-", ctx) === true) return eq("symbolic: difference simplifies to 0");
      return unk("values overflow double precision");
    }
    if (closeC(va, vb, ctx)) return eq(`numeric: ${fmt(va)} ≈ ${fmt(vb)}`);
    if (ctx.percentLeniency && va.im === 0 && vb.im === 0) {
      if (close(va.re * 100, vb.re, ctx) || close(va.re, vb.re * 100, ctx)) {
        return eq("numeric: equal up to a factor 100 (percent leniency)");
      }
    }
    return ne(`numeric: ${fmt(va)} ≠ ${fmt(vb)}`);
  }
  const complexOk = usesI(a) || usesI(b);
  const integers = needsIntegerPoints(a, b);
  let valid = 0;
  for (const scope of samplePoints(vars, ctx, integers)) {
    checkBudget(ctx);
    const va = evalExpr(a, scope, ctx);
    const vb = evalExpr(b, scope, ctx);
    if (va === null || vb === null || !isFiniteC(va) || !isFiniteC(vb)) continue;
    // outside the real domain of one side only (e.g. 2ln x vs ln x^2 at x<0): skip the point
    if (!complexOk && (va.im !== 0) !== (vb.im !== 0)) continue;
    valid++;
    if (!closeC(va, vb, ctx)) {
      return ne(`numeric: differ at ${describePoint(scope)} (${fmt(va)} vs ${fmt(vb)})`);
    }
  }
  const need = Math.max(2, Math.ceil(ctx.numericPoints / 2));
  if (valid >= need) return eq(`numeric: agree at ${valid} ${integers ? "integer" : "random"} points`);
  // numeric inconclusive (domain problems): fall back to symbolic simplification
  if (symbolicZero(a, b, "-", ctx) === true) return eq("symbolic: difference simplifies to 0");
  return unk(`numeric: only ${valid} of ${ctx.numericPoints} points evaluable; symbolic inconclusive`);
}

function fmt(c: C): string {
  const r = Number(c.re.toPrecision(8));
  return c.im === 0 ? String(r) : `${r}${c.im >= 0 ? "+" : ""}${Number(c.im.toPrecision(8))}i`;
}

function describePoint(scope: Record<string, number>): string {
  return Object.entries(scope)
    .map(([k, v]) => `${k.slice(2)}=${v.toFixed(3)}`)
    .join(",");
}

// ---------------------------------------------------------------------------------------------
// structural comparison

function isStructure(e: Expr): boolean {
  return e.k === "seq" || e.k === "rel" || e.k === "union" || e.k === "matrix" || e.k === "emptyset";
}

/** Replace `\pm` inside a scalar by a bare list of its variants. */
function expandTop(e: Expr): Expr {
  if (isStructure(e)) {
    if (e.k === "seq") {
      const items: Expr[] = [];
      for (const it of e.items) {
        const x = expandTop(it);
        if (x.k === "seq" && x.open === "" && e.open !== "(" && e.open !== "[") items.push(...x.items);
        else items.push(x);
      }
      return { ...e, items };
    }
    if (e.k === "rel") return { ...e, parts: e.parts.map(expandTop) };
    return e;
  }
  const vs = expandPm(e);
  return vs.length === 1 ? vs[0]! : { k: "seq", open: "", close: "", items: vs };
}

function combine(results: EquivalenceResult[], what: string): EquivalenceResult {
  const bad = results.find((r) => r.verdict === "not-equal");
  if (bad) return ne(`${what}: ${bad.reason}`);
  const u = results.find((r) => r.verdict !== "equal");
  if (u) return unk(`${what}: ${u.reason}`);
  return eq(`${what}: all ${results.length} elements equal`);
}

function compareOrdered(p: Expr[], r: Expr[], ctx: Ctx, what: string): EquivalenceResult {
  if (p.length !== r.length) return ne(`${what}: ${p.length} elements vs ${r.length}`);
  const res: EquivalenceResult[] = [];
  for (let i = 0; i < p.length; i++) {
    const x = compareAny(p[i]!, r[i]!, ctx);
    if (x.verdict === "not-equal") return ne(`${what}: element ${i + 1} differs (${x.reason})`);
    res.push(x);
  }
  return combine(res, what);
}

function compareUnordered(p: Expr[], r: Expr[], ctx: Ctx, what: string): EquivalenceResult {
  if (p.length !== r.length) return ne(`${what}: ${p.length} elements vs ${r.length}`);
  if (p.length > 64) return unk(`${what}: more than 64 elements`);
  const used = new Array<boolean>(p.length).fill(false);
  let uncertain = false;
  for (const ri of r) {
    let found = false;
    for (let j = 0; j < p.length; j++) {
      if (used[j]) continue;
      const x = compareAny(p[j]!, ri, ctx);
      if (x.verdict === "equal") {
        used[j] = true;
        found = true;
        break;
      }
      if (x.verdict !== "not-equal") uncertain = true;
    }
    if (!found)
      return uncertain ? unk(`${what}: some elements undecided`) : ne(`${what}: no match for an element`);
  }
  return eq(`${what}: all ${p.length} elements matched (unordered)`);
}

/**
 * The value side of "label = value": `x = 5`, `|AB| = 1`, `f(2) = 3`, `a_1 = 2` (the left side is
 * a label), a pure computation `2+3 = 5` (no unknown on the left), or `B^{-1} = M` (a structured
 * right side). `x + 1 = 6` and `2x = 10` are equations with an unknown and give null: they are not
 * equal to their right-hand side. Used in both directions (prediction and reference).
 */
function valueOfEquation(e: Expr): Expr | null {
  if (e.k !== "rel" || e.ops.some((o) => o !== "=")) return null;
  const last = e.parts[e.parts.length - 1]!;
  const first = e.parts[0]!;
  if (isStructure(last)) return e.parts.length === 2 ? last : null;
  if (isLabel(first) || freeSymbols(first).size === 0) return last;
  return null;
}

/** The factors of a product chain, left to right. */
function factors(e: Expr): Expr[] {
  return e.k === "bin" && e.op === "*" ? [...factors(e.a), ...factors(e.b)] : [e];
}

/**
 * A label: `y`, `a_1`, `AB`, `|AB|`, `\overline{AB}`, or a function-call-looking `f(x)` / `P(2)`
 * (parsed as a product starting with a symbol).
 */
function isLabel(e: Expr): boolean {
  if (e.k === "sym") return true;
  if (e.k === "fn" && e.name === "abs" && e.args.length === 1) return isLabel(e.args[0]!);
  if (e.k === "bin" && e.op === "*") {
    const fs = factors(e);
    return fs[0]!.k === "sym" && fs.every((f) => f.k === "sym" || f.k === "num");
  }
  return false;
}

function sub(a: Expr, b: Expr): Expr {
  return { k: "bin", op: "-", a, b };
}

/**
 * Whether d1 = c·d2 for a constant c (c > 0 when `positive`), checked at seeded points: "equal",
 * "not-equal", or null when too few points evaluate. Returns the ratio for the reason.
 */
function proportional(
  d1: Expr,
  d2: Expr,
  vars: string[],
  ctx: Ctx,
  positive: boolean,
): { verdict: "equal" | "not-equal"; reason: string; ratio: number } | null {
  let ratio: number | null = null;
  let valid = 0;
  for (const scope of samplePoints(vars, ctx, needsIntegerPoints(d1, d2))) {
    checkBudget(ctx);
    const a = evalExpr(d1, scope, ctx);
    const b = evalExpr(d2, scope, ctx);
    if (a === null || b === null || a.im !== 0 || b.im !== 0 || !isFiniteC(a) || !isFiniteC(b)) continue;
    const za = Math.abs(a.re) <= ctx.absTol;
    const zb = Math.abs(b.re) <= ctx.absTol;
    if (za && zb) continue;
    if (za !== zb) {
      return {
        verdict: "not-equal",
        reason: `one side vanishes at ${describePoint(scope)} and the other does not`,
        ratio: Number.NaN,
      };
    }
    const q = a.re / b.re;
    valid++;
    if (positive && q < 0) {
      return { verdict: "not-equal", reason: `opposite sign at ${describePoint(scope)}`, ratio: q };
    }
    if (ratio === null) ratio = q;
    else if (!close(ratio, q, ctx))
      return { verdict: "not-equal", reason: `not proportional at ${describePoint(scope)}`, ratio: q };
  }
  const need = Math.max(2, Math.ceil(ctx.numericPoints / 2));
  if (ratio === null || valid < need) return null;
  return { verdict: "equal", reason: `proportional at ${valid} points`, ratio };
}

function compareEquations(p: Expr & { k: "rel" }, r: Expr & { k: "rel" }, ctx: Ctx): EquivalenceResult {
  const pl = p.parts[0]!;
  const rl = r.parts[0]!;
  if (pl.k === "sym" && rl.k === "sym" && pl.name === rl.name) {
    const x = compareAny(p.parts[1]!, r.parts[1]!, ctx);
    return { verdict: x.verdict, reason: `equation right sides: ${x.reason}` };
  }
  if ([...p.parts, ...r.parts].some(isStructure))
    return compareOrdered(p.parts, r.parts, ctx, "equation sides");
  const d1 = sub(p.parts[0]!, p.parts[1]!);
  const d2 = sub(r.parts[0]!, r.parts[1]!);
  const vars = [...freeSymbols(d1, freeSymbols(d2))].sort();
  if (vars.length === 0) return compareAny(p.parts[1]!, r.parts[1]!, ctx);
  const pr = proportional(d1, d2, vars, ctx, false);
  if (pr === null) {
    if (symbolicZero(d1, d2, "-", ctx) === true) {
      return eq("equation: same after moving sides (symbolic)");
    }
    if (symbolicZero(d1, d2, "+", ctx) === true) {
      return eq("equation: same up to sign (symbolic)");
    }
    return unk("equation: too few evaluable points; symbolic inconclusive");
  }
  if (pr.verdict === "not-equal") return ne(`equation: (lhs - rhs) ${pr.reason}`);
  const ratio = pr.ratio;
  if (close(Math.abs(ratio), 1, ctx)) return eq(`equation: lhs - rhs equal up to sign (${pr.reason})`);
  if (ctx.equationScaling)
    return eq(`equation: lhs - rhs proportional (factor ${Number(ratio.toPrecision(6))})`);
  return ne(`equation: differ by factor ${Number(ratio.toPrecision(6))} (equationScaling off)`);
}

/**
 * One-sided inequalities, normalised by sign: `a < b` is `b - a > 0`; two are equal when their
 * `b - a` agree up to a positive constant factor (`-x > -1` = `x < 1`; `2x < 2` = `x < 1` unless
 * `equationScaling` is off). Null when this rule cannot decide.
 */
function compareInequalities(
  po: { ops: RelOp[]; parts: Expr[] },
  ro: { ops: RelOp[]; parts: Expr[] },
  ctx: Ctx,
): EquivalenceResult | null {
  if (po.ops.length !== 1 || ro.ops.length !== 1) return null;
  if ([...po.parts, ...ro.parts].some(isStructure)) return null;
  const d1 = sub(po.parts[1]!, po.parts[0]!);
  const d2 = sub(ro.parts[1]!, ro.parts[0]!);
  const vars = [...freeSymbols(d1, freeSymbols(d2))].sort();
  if (vars.length === 0) return null;
  const pr = proportional(d1, d2, vars, ctx, true);
  if (pr === null) return null;
  if (pr.verdict === "not-equal") return ne(`inequality: (greater - lesser side) ${pr.reason}`);
  if (!close(pr.ratio, 1, ctx) && !ctx.equationScaling) {
    return ne(`inequality: differ by factor ${Number(pr.ratio.toPrecision(6))} (equationScaling off)`);
  }
  return eq(`inequality: same after normalising the sign (${pr.reason})`);
}

const FLIP: Record<RelOp, RelOp> = {
  "<": ">",
  ">": "<",
  "<=": ">=",
  ">=": "<=",
  "=": "=",
  "!=": "!=",
  "~": "~",
};

function orient(e: Expr & { k: "rel" }): { ops: RelOp[]; parts: Expr[] } {
  if (e.ops.every((o) => o === ">" || o === ">=")) {
    return { ops: [...e.ops].reverse().map((o) => FLIP[o]), parts: [...e.parts].reverse() };
  }
  return { ops: e.ops, parts: e.parts };
}

/** `a < x <= b` (or `x > a`) as an interval [open, lo, hi, close] for one variable, else null. */
function relToInterval(e: Expr & { k: "rel" }): Expr | null {
  const o = orient(e);
  const inf: Expr = { k: "const", name: "inf" };
  const ninf: Expr = { k: "neg", a: inf };
  if (o.ops.length === 2 && o.ops.every((x) => x === "<" || x === "<=") && o.parts[1]!.k === "sym") {
    return {
      k: "seq",
      open: o.ops[0] === "<" ? "(" : "[",
      close: o.ops[1] === "<" ? ")" : "]",
      items: [o.parts[0]!, o.parts[2]!],
    };
  }
  if (o.ops.length === 1 && (o.ops[0] === "<" || o.ops[0] === "<=")) {
    const closeB = o.ops[0] === "<" ? ")" : "]";
    const openB = o.ops[0] === "<" ? "(" : "[";
    if (o.parts[0]!.k === "sym" && freeSymbols(o.parts[1]!).size === 0) {
      return { k: "seq", open: "(", close: closeB, items: [ninf, o.parts[1]!] };
    }
    if (o.parts[1]!.k === "sym" && freeSymbols(o.parts[0]!).size === 0) {
      return { k: "seq", open: openB, close: ")", items: [o.parts[0]!, inf] };
    }
  }
  return null;
}

function isInterval(e: Expr): boolean {
  return (
    e.k === "seq" &&
    e.items.length === 2 &&
    (e.open === "(" || e.open === "[") &&
    (e.close === ")" || e.close === "]")
  );
}

function compareAny(p0: Expr, r0: Expr, ctx: Ctx): EquivalenceResult {
  checkBudget(ctx);
  const p = p0;
  const r = r0;
  // "a \approx b": either form counts
  if (r.k === "rel" && r.ops.includes("~") && r.ops.every((o) => o === "~" || o === "=")) {
    const res = r.parts.map((part) => compareAny(p, part, ctx));
    const hit = res.find((x) => x.verdict === "equal");
    if (hit) return eq(`matches one side of ≈: ${hit.reason}`);
    return combine(res, "≈ alternatives");
  }
  if (p.k === "rel" && p.ops.includes("~") && p.ops.every((o) => o === "~" || o === "=")) {
    const res = p.parts.map((part) => compareAny(part, r, ctx));
    const hit = res.find((x) => x.verdict === "equal");
    if (hit) return eq(`one side of ≈ matches: ${hit.reason}`);
    return combine(res, "≈ alternatives");
  }
  // x = 5 vs 5 (either side)
  if (p.k === "rel" && r.k !== "rel") {
    const v = valueOfEquation(p);
    if (v !== null) return compareAny(v, r, ctx);
    const iv = relToInterval(p);
    if (iv !== null && (isInterval(r) || r.k === "union")) return compareAny(iv, r, ctx);
    return ne("relation vs value");
  }
  if (r.k === "rel" && p.k !== "rel") {
    const v = valueOfEquation(r);
    if (v !== null) return compareAny(p, v, ctx);
    const iv = relToInterval(r);
    if (iv !== null && (isInterval(p) || p.k === "union")) return compareAny(p, iv, ctx);
    return ne("value vs relation");
  }
  if (p.k === "rel" && r.k === "rel") {
    const po = orient(p);
    const ro = orient(r);
    if (po.ops.length === 1 && ro.ops.length === 1 && po.ops[0] === "=" && ro.ops[0] === "=") {
      return compareEquations(p, r, ctx);
    }
    if (po.ops.join() !== ro.ops.join()) return ne(`relations ${po.ops.join(" ")} vs ${ro.ops.join(" ")}`);
    const byRatio = compareInequalities(po, ro, ctx);
    if (byRatio !== null) return byRatio;
    return compareOrdered(po.parts, ro.parts, ctx, "relation sides");
  }
  if (p.k === "emptyset" || r.k === "emptyset") {
    const pe = p.k === "emptyset" || (p.k === "seq" && p.open === "{" && p.items.length === 0);
    const re = r.k === "emptyset" || (r.k === "seq" && r.open === "{" && r.items.length === 0);
    return pe && re ? eq("both empty sets") : ne("empty set vs non-empty");
  }
  if (p.k === "matrix" || r.k === "matrix") {
    if (p.k !== "matrix" || r.k !== "matrix") return ne("matrix vs non-matrix");
    if (p.rows.length !== r.rows.length || p.rows[0]!.length !== r.rows[0]!.length) {
      return ne(
        `matrix shape ${p.rows.length}x${p.rows[0]!.length} vs ${r.rows.length}x${r.rows[0]!.length}`,
      );
    }
    return compareOrdered(p.rows.flat(), r.rows.flat(), ctx, "matrix entries");
  }
  if (p.k === "union" || r.k === "union") {
    const pp = p.k === "union" ? p.parts : [p];
    const rp = r.k === "union" ? r.parts : [r];
    return compareUnordered(pp, rp, ctx, "union");
  }
  if (p.k === "seq" || r.k === "seq") {
    if (p.k !== "seq" || r.k !== "seq") {
      // a one-element list/set vs a scalar
      const ps = p.k === "seq" ? p : null;
      const rs = r.k === "seq" ? r : null;
      if (ps && ps.items.length === 1 && (ps.open === "" || ps.open === "{"))
        return compareAny(ps.items[0]!, r, ctx);
      if (rs && rs.items.length === 1 && (rs.open === "" || rs.open === "{"))
        return compareAny(p, rs.items[0]!, ctx);
      return ne(`${p.k === "seq" ? "list" : "value"} vs ${r.k === "seq" ? "list" : "value"}`);
    }
    const pUn = p.open === "{" || (p.open === "" && ctx.unorderedLists);
    const rUn = r.open === "{" || (r.open === "" && ctx.unorderedLists);
    if (r.open === "" && p.open === "" && !ctx.unorderedLists)
      return compareOrdered(p.items, r.items, ctx, "list");
    if (r.open === "{" || (r.open === "" && p.open !== "(" && p.open !== "[")) {
      if (pUn || p.open === "")
        return compareUnordered(p.items, r.items, ctx, r.open === "{" ? "set" : "list");
      return ne(`${p.open}…${p.close} vs set/list`);
    }
    if (p.open === "{") return ne("set vs tuple/interval");
    if (p.open === "" && rUn) return compareUnordered(p.items, r.items, ctx, "list");
    // ordered: tuples and intervals; brackets must agree (a bare list may stand for a tuple)
    if (p.open !== "" && r.open !== "" && (p.open !== r.open || p.close !== r.close)) {
      return ne(`brackets ${p.open}…${p.close} vs ${r.open}…${r.close}`);
    }
    return compareOrdered(p.items, r.items, ctx, r.open === "[" || r.close === "]" ? "interval" : "tuple");
  }
  return compareScalar(p, r, ctx);
}

// ---------------------------------------------------------------------------------------------

const CHOICE_RE = /^\(?([A-E])\)?$/;
const PRED_CHOICE_RE = /^\(?([A-E])\)?(?:[\s.:)]|$)/;

function choiceOf(s: string, re: RegExp): string | null {
  const t = s
    .replace(/\\text\{([^{}]*)\}/g, "$1")
    .replace(/\\textbf\{([^{}]*)\}/g, "$1")
    .trim();
  const m = re.exec(t);
  return m ? m[1]! : null;
}

function makeCtx(o: EquivalenceOptions): Ctx {
  validateOptions(o);
  return {
    relTol: o.relTol ?? 1e-6,
    absTol: o.absTol ?? 1e-10,
    percentLeniency: o.percentLeniency ?? false,
    unorderedLists: o.unorderedLists ?? true,
    equationScaling: o.equationScaling ?? true,
    numericPoints: o.numericPoints ?? 8,
    seed: o.seed ?? 20240607,
    symbolic: o.symbolic ?? true,
    maxSymbolicNodes: o.maxSymbolicNodes ?? 40,
    counter: o.counter ?? new StepCounter(),
  };
}

/** Parse an answer string into a tree (after {@link normalizeAnswer}). Returns null when it does not parse. */
export function parseAnswer(answer: string, limits: Partial<ParseLimits> = {}): Expr | null {
  try {
    return parseLatex(normalizeAnswer(answer).text, { ...DEFAULT_PARSE_LIMITS, ...limits });
  } catch (e) {
    if (e instanceof LatexParseError || e instanceof RangeError) return null;
    throw e;
  }
}

/** A whole-answer `\text{…}` with a word in it, or any run of 4+ letters outside commands. */
function isWordy(n: NormalizedAnswer): boolean {
  const bare = n.text.replace(/\\(?:begin|end|mathbb|operatorname)\s*\{[^}]*\}|\\[a-zA-Z]+/g, " ");
  return (n.wasText && /[a-zA-Z]{2,}/.test(bare)) || /[a-zA-Z]{4,}/.test(bare);
}

function looksLikeWords(s: string): boolean {
  return /[a-zA-Z]{2,}/.test(s.replace(/\\[a-zA-Z]+/g, ""));
}

/**
 * Decide whether a predicted answer equals a reference answer. Never throws on answer content;
 * throws {@link EvalMathError} only for invalid options or non-string arguments.
 */
export function isEquivalent(pred: string, ref: string, opts: EquivalenceOptions = {}): EquivalenceResult {
  if (typeof pred !== "string" || typeof ref !== "string") {
    throw new EvalMathError(
      "ARGUMENT_INVALID",
      `isEquivalent expects two strings, received ${truncate(pred)} and ${truncate(ref)}`,
    );
  }
  const ctx = makeCtx(opts);
  const limits = { ...DEFAULT_PARSE_LIMITS, ...(opts.limits ?? {}) };
  if (pred.trim() === "") return { verdict: "unparseable", reason: "empty prediction" };
  if (ref.trim() === "") return { verdict: "unparseable", reason: "empty reference" };
  // size check before any rule runs
  for (const [what, s] of [
    ["prediction", pred],
    ["reference", ref],
  ] as const) {
    if (s.length > MAX_NORMALIZE_LENGTH) {
      ctx.counter.charge(1);
      return {
        verdict: "unparseable",
        reason: `${what}: answer too long (${s.length} > ${MAX_NORMALIZE_LENGTH} characters)`,
      };
    }
  }
  try {
    return ctx.counter.withLimit(opts.maxSteps ?? DEFAULT_MAX_STEPS, () => decide(pred, ref, ctx, limits));
  } catch (e) {
    if (e instanceof StepBudgetExceeded) return unk(e.message);
    throw e;
  }
}

function decide(pred: string, ref: string, ctx: Ctx, limits: ParseLimits): EquivalenceResult {
  const np = normalizeAnswer(pred, ctx.counter);
  const nr = normalizeAnswer(ref, ctx.counter);
  if (np.text === nr.text && np.percent === nr.percent) return eq("identical after normalisation");
  ctx.counter.charge(20 * (pred.length + ref.length));
  if (textKey(pred) === textKey(ref)) return eq("identical as text");
  const rc = choiceOf(nr.text, CHOICE_RE);
  if (rc !== null) {
    const pc =
      choiceOf(np.text, PRED_CHOICE_RE) ?? choiceOf(np.text, /^\(?([a-e])\)?$/)?.toUpperCase() ?? null;
    if (pc !== null) return pc === rc ? eq(`choice ${rc}`) : ne(`choice ${pc} vs ${rc}`);
  }
  if (isWordy(np) || isWordy(nr)) {
    return ne("different text");
  }
  let pe: Expr;
  let re: Expr;
  // the parser's work is capped at PARSE_WORK_PER_TOKEN rule entries per token (tokens ≤ chars)
  ctx.counter.charge(PARSE_WORK_PER_TOKEN * (np.text.length + nr.text.length + 32));
  try {
    re = parseLatex(nr.text, limits);
  } catch (e) {
    if (!(e instanceof LatexParseError) && !(e instanceof RangeError)) throw e;
    if (looksLikeWords(nr.text) && looksLikeWords(np.text)) return ne("different text");
    return { verdict: "unparseable", reason: `reference: ${(e as Error).message}` };
  }
  try {
    pe = parseLatex(np.text, limits);
  } catch (e) {
    if (!(e instanceof LatexParseError) && !(e instanceof RangeError)) throw e;
    return { verdict: "unparseable", reason: `prediction: ${(e as Error).message}` };
  }
  try {
    return compareAny(expandTop(pe), expandTop(re), ctx);
  } catch (e) {
    if (e instanceof LatexParseError) return unk(e.message);
    if (e instanceof RangeError) return unk(`too deep: ${e.message}`);
    throw e;
  }
}
