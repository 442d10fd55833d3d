/**
 * Answer equivalence: normalise → parse (see `latex.ts`) → compare structurally, symbolically
 * (mathjs `simplify` of the difference) and numerically (seeded random points).
 *
 * Every check is bounded: parse limits (length, tokens, depth), a node limit for symbolic
 * simplification, and a wall-clock budget that is checked between steps (JavaScript cannot
 * pre-empt a synchronous call, so one `simplify` of at most `maxSymbolicNodes` nodes is the longest
 * uninterruptible step). Nothing is evaluated as JavaScript: mathjs compiles trees we build.
 */
import { all, create, type EvalFunction, type MathNode, parse as mathParse, simplify } from "mathjs";
import { EvalMathError, truncate } from "./errors.js";
import {
  countNodes,
  DEFAULT_PARSE_LIMITS,
  type Expr,
  expandPm,
  freeSymbols,
  LatexParseError,
  type ParseLimits,
  parseLatex,
  type RelOp,
  symbolId,
  toMathjs,
} from "./latex.js";
import { type NormalizedAnswer, normalizeAnswer, textKey } from "./normalize.js";

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
  /** Wall-clock budget per comparison in ms (checked between steps). Default 500. */
  timeBudgetMs?: number;
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
  deadline: number;
  budgetMs: number;
}

const eq = (reason: string): EquivalenceResult => ({ verdict: "equal", reason });
const ne = (reason: string): EquivalenceResult => ({ verdict: "not-equal", reason });
const unk = (reason: string): EquivalenceResult => ({ verdict: "unknown", reason });

class BudgetExceeded extends Error {}

function checkBudget(ctx: Ctx): void {
  if (Date.now() > ctx.deadline) throw new BudgetExceeded(`time budget of ${ctx.budgetMs} ms exceeded`);
}

function validateOptions(o: EquivalenceOptions): void {
  const pos = (name: string, v: number | undefined, allowZero = false) => {
    if (v !== undefined && !(Number.isFinite(v) && (allowZero ? v >= 0 : v > 0))) {
      throw new EvalMathError(
        "INVALID_ARGUMENT",
        `${name} must be a ${allowZero ? "non-negative" : "positive"} finite number, received ${truncate(v)}`,
      );
    }
  };
  pos("relTol", o.relTol, true);
  pos("absTol", o.absTol, true);
  pos("numericPoints", o.numericPoints);
  pos("maxSymbolicNodes", o.maxSymbolicNodes, true);
  pos("timeBudgetMs", o.timeBudgetMs);
  if (o.numericPoints !== undefined && !Number.isInteger(o.numericPoints)) {
    throw new EvalMathError(
      "INVALID_ARGUMENT",
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

function evalExpr(e: Expr, scope: Record<string, number>): C | null {
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

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Seeded points: half with every variable in [0.3, 2.7], half in [-2.7, -0.3]; when an integer
 * function (floor, ceil, factorial, binomial, gcd, lcm) appears, distinct-ish integers in [1, 40].
 */
function samplePoints(vars: string[], ctx: Ctx, integers = false): Array<Record<string, number>> {
  const rnd = mulberry32(ctx.seed);
  const pts: Array<Record<string, number>> = [];
  for (let p = 0; p < ctx.numericPoints; p++) {
    const sign = p % 2 === 0 ? 1 : -1;
    const scope: Record<string, number> = {};
    for (const v of vars) {
      scope[`v_${symbolId(v)}`] = integers ? 1 + Math.floor(40 * rnd()) : sign * (0.3 + 2.4 * rnd());
    }
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

function symbolicZero(diff: string, nodes: number, ctx: Ctx): boolean | null {
  if (!ctx.symbolic || nodes > ctx.maxSymbolicNodes) return null;
  checkBudget(ctx);
  try {
    const s: MathNode = simplify(diff);
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
  checkBudget(ctx);
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
    const va = evalExpr(a, {});
    const vb = evalExpr(b, {});
    if (va === null || vb === null) {
      const z = symbolicZero(`(${toMathjs(a)}) - (${toMathjs(b)})`, countNodes(a) + countNodes(b), ctx);
      if (z === true) return eq("symbolic: difference simplifies to 0");
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
      const z = symbolicZero(`(${toMathjs(a)}) - (${toMathjs(b)})`, countNodes(a) + countNodes(b), ctx);
      if (z === true) return eq("symbolic: difference simplifies to 0");
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
  let valid = 0;
  for (const scope of samplePoints(vars, ctx, needsIntegerPoints(a, b))) {
    checkBudget(ctx);
    const va = evalExpr(a, scope);
    const vb = evalExpr(b, scope);
    if (va === null || vb === null || !isFiniteC(va) || !isFiniteC(vb)) continue;
    // outside the real domain of one side only (e.g. 2ln x vs ln x^2 at x<0): skip the point
    if (!complexOk && (va.im !== 0) !== (vb.im !== 0)) continue;
    valid++;
    if (!closeC(va, vb, ctx)) {
      return ne(`numeric: differ at ${describePoint(scope)} (${fmt(va)} vs ${fmt(vb)})`);
    }
  }
  const need = Math.max(2, Math.ceil(ctx.numericPoints / 2));
  if (valid >= need) return eq(`numeric: agree at ${valid} random points`);
  // numeric inconclusive (domain problems): fall back to symbolic simplification
  const sym = symbolicZero(`(${toMathjs(a)}) - (${toMathjs(b)})`, countNodes(a) + countNodes(b), ctx);
  if (sym === true) return eq("symbolic: difference simplifies to 0");
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

/** `x = 5` (single-symbol left side, or constant right side) → `5`. */
function valueOfEquation(e: Expr): Expr | null {
  if (e.k !== "rel" || e.ops.some((o) => o !== "=")) return null;
  const last = e.parts[e.parts.length - 1]!;
  const first = e.parts[0]!;
  if (isStructure(last)) return e.parts.length === 2 ? last : null;
  if (isNameLike(first) || freeSymbols(last).size === 0) return last;
  return null;
}

/** `y`, `a_1`, or a function-call-looking `f(x)` (parsed as f·x). */
function isNameLike(e: Expr): boolean {
  return e.k === "sym" || (e.k === "bin" && e.op === "*" && e.a.k === "sym" && e.b.k === "sym");
}

function sub(a: Expr, b: Expr): Expr {
  return { k: "bin", op: "-", a, b };
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
  let ratio: number | null = null;
  let valid = 0;
  for (const scope of samplePoints(vars, ctx, needsIntegerPoints(d1, d2))) {
    checkBudget(ctx);
    const a = evalExpr(d1, scope);
    const b = evalExpr(d2, scope);
    if (a === null || b === null || a.im !== 0 || b.im !== 0 || !isFiniteC(a) || !isFiniteC(b)) continue;
    const za = Math.abs(a.re) <= ctx.absTol;
    const zb = Math.abs(b.re) <= ctx.absTol;
    if (za && zb) continue;
    if (za !== zb) return ne(`equation: one side vanishes at ${describePoint(scope)} and the other does not`);
    const q = a.re / b.re;
    valid++;
    if (ratio === null) ratio = q;
    else if (!close(ratio, q, ctx))
      return ne(`equation: (lhs - rhs) not proportional at ${describePoint(scope)}`);
  }
  const need = Math.max(2, Math.ceil(ctx.numericPoints / 2));
  if (ratio === null || valid < need) {
    const nodes = countNodes(d1) + countNodes(d2);
    if (symbolicZero(`(${toMathjs(d1)}) - (${toMathjs(d2)})`, nodes, ctx) === true) {
      return eq("equation: same after moving sides (symbolic)");
    }
    if (symbolicZero(`(${toMathjs(d1)}) + (${toMathjs(d2)})`, nodes, ctx) === true) {
      return eq("equation: same up to sign (symbolic)");
    }
    return unk("equation: too few evaluable points; symbolic inconclusive");
  }
  if (close(Math.abs(ratio), 1, ctx)) return eq(`equation: lhs - rhs equal up to sign at ${valid} points`);
  if (ctx.equationScaling)
    return eq(`equation: lhs - rhs proportional (factor ${Number(ratio.toPrecision(6))})`);
  return ne(`equation: differ by factor ${Number(ratio.toPrecision(6))} (equationScaling off)`);
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
    if (r.ops.length === 1 && r.ops[0] === "=" && (isNameLike(r.parts[0]!) || isStructure(r.parts[1]!))) {
      return compareAny(p, r.parts[1]!, ctx);
    }
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
  const budgetMs = o.timeBudgetMs ?? 500;
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
    deadline: Date.now() + budgetMs,
    budgetMs,
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
      "INVALID_ARGUMENT",
      `isEquivalent expects two strings, received ${truncate(pred)} and ${truncate(ref)}`,
    );
  }
  const ctx = makeCtx(opts);
  const limits = { ...DEFAULT_PARSE_LIMITS, ...(opts.limits ?? {}) };
  if (pred.trim() === "") return { verdict: "unparseable", reason: "empty prediction" };
  if (ref.trim() === "") return { verdict: "unparseable", reason: "empty reference" };
  const np = normalizeAnswer(pred);
  const nr = normalizeAnswer(ref);
  if (np.text === nr.text && np.percent === nr.percent) return eq("identical after normalisation");
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
    if (e instanceof BudgetExceeded) return unk(e.message);
    if (e instanceof LatexParseError) return unk(e.message);
    if (e instanceof RangeError) return unk(`too deep: ${e.message}`);
    throw e;
  }
}
