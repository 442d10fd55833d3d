/**
 * A small hand-written LaTeX → expression-tree parser for final answers.
 *
 * It covers the notation of competition answers: numbers (decimals, scientific `4.5e33`), mixed
 * numbers (`1\frac{1}{2}`), `\frac`, `\sqrt[n]{}`, powers, implicit multiplication, `\pi`, `e`, `i`,
 * `\infty`, trig/log functions (`\sin^2 x`, `\log_2 8`), `|x|`, `n!`, `\binom`, `\pm`, equations and
 * inequalities (chains too), tuples and intervals (`(a,b]`), sets `\{…\}`, bare lists, unions `\cup`,
 * and matrices (`pmatrix`/`bmatrix`/…). Anything else is a {@link LatexParseError}.
 *
 * The parser only builds data; nothing here is executed. Limits on input length, token count and
 * nesting depth keep it bounded, and the rule entries of one parse are capped at
 * {@link PARSE_WORK_PER_TOKEN} per token, so backtracking cannot multiply the work.
 */
import { SageError } from "@sage/core";

export type Expr =
  | { k: "num"; v: number; text: string }
  | { k: "sym"; name: string }
  | { k: "const"; name: "pi" | "e" | "i" | "inf" }
  | { k: "bin"; op: "+" | "-" | "*" | "/" | "^"; a: Expr; b: Expr }
  | { k: "neg"; a: Expr }
  | { k: "pm"; a: Expr; b: Expr | null }
  | { k: "fn"; name: string; args: Expr[] }
  | { k: "seq"; open: string; close: string; items: Expr[] }
  | { k: "rel"; ops: RelOp[]; parts: Expr[] }
  | { k: "union"; parts: Expr[] }
  | { k: "matrix"; rows: Expr[][] }
  | { k: "emptyset" };

export type RelOp = "=" | "<" | ">" | "<=" | ">=" | "!=" | "~";

/** A LaTeX string this parser cannot read (code `LATEX_INVALID`). */
export class LatexParseError extends SageError {
  constructor(message: string) {
    super("LATEX_INVALID", message);
    this.name = "LatexParseError";
  }
}

export interface ParseLimits {
  /** Maximum input length in characters. Default 600. */
  maxLength: number;
  /** Maximum number of tokens. Default 300. */
  maxTokens: number;
  /** Maximum nesting depth. Default 40. */
  maxDepth: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = { maxLength: 600, maxTokens: 300, maxDepth: 40 };

type Tok =
  | { t: "num"; v: string }
  | { t: "id"; v: string }
  | { t: "cmd"; v: string }
  | { t: "op"; v: string };

const FUNCTION_NAMES = new Set([
  "sin",
  "cos",
  "tan",
  "sec",
  "csc",
  "cot",
  "arcsin",
  "arccos",
  "arctan",
  "sinh",
  "cosh",
  "tanh",
  "ln",
  "log",
  "exp",
  "lg",
  "max",
  "min",
  "gcd",
  "lcm",
  "det",
  "arcsec",
  "arccsc",
  "arccot",
]);
const PLAIN_NAMES = [
  "arcsin",
  "arccos",
  "arctan",
  "sqrt",
  "sinh",
  "cosh",
  "tanh",
  "sin",
  "cos",
  "tan",
  "sec",
  "csc",
  "cot",
  "log",
  "exp",
  "ln",
  "pi",
];
const GREEK = new Set([
  "alpha",
  "beta",
  "gamma",
  "delta",
  "epsilon",
  "varepsilon",
  "zeta",
  "eta",
  "theta",
  "vartheta",
  "iota",
  "kappa",
  "lambda",
  "mu",
  "nu",
  "xi",
  "rho",
  "sigma",
  "tau",
  "upsilon",
  "phi",
  "varphi",
  "chi",
  "psi",
  "omega",
  "Gamma",
  "Delta",
  "Theta",
  "Lambda",
  "Xi",
  "Sigma",
  "Phi",
  "Psi",
  "Omega",
]);
const DECORATIONS = new Set([
  "vec",
  "overrightarrow",
  "hat",
  "bar",
  "tilde",
  "dot",
  "ddot",
  "widehat",
  "overline",
]);
/** Commands that end an implicit product (operators, relations, closers). */
const NON_FACTOR_COMMANDS = new Set(
  "cdot times div pm mp cup cap end to in quad rightarrow Rightarrow rfloor rceil rvert rangle approx mid".split(
    " ",
  ),
);
const IGNORED_COMMANDS = new Set(["displaystyle", "limits", "nolimits", "mathrm", "mathbf", "mathit"]);
const UNICODE: Record<string, string> = {
  π: "\\pi ",
  "√": "\\sqrt ",
  "×": "\\times ",
  "·": "\\cdot ",
  "÷": "\\div ",
  "−": "-",
  "–": "-",
  "≤": "\\le ",
  "≥": "\\ge ",
  "≠": "\\ne ",
  "∞": "\\infty ",
  "∪": "\\cup ",
  "∩": "\\cap ",
  "±": "\\pm ",
  "⋅": "\\cdot ",
  "∅": "\\emptyset ",
};

function tokenize(src: string, limits: ParseLimits): Tok[] {
  if (src.length > limits.maxLength) {
    throw new LatexParseError(`input too long: ${src.length} > ${limits.maxLength} characters`);
  }
  let s = "";
  for (const ch of src) s += UNICODE[ch] ?? ch;
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (/[0-9.]/.test(c)) {
      const m = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+(?![a-zA-Z]))?/.exec(s.slice(i));
      if (!m || m[0] === ".") throw new LatexParseError(`unexpected '.' at ${i}`);
      out.push({ t: "num", v: m[0] });
      i += m[0].length;
    } else if (/[a-zA-Z]/.test(c)) {
      const rest = s.slice(i);
      const name = PLAIN_NAMES.find((n) => rest.startsWith(n) && !/^[a-zA-Z]/.test(rest.slice(n.length)));
      if (name !== undefined) {
        out.push({ t: "cmd", v: name });
        i += name.length;
      } else {
        out.push({ t: "id", v: c });
        i++;
      }
    } else if (c === "\\") {
      const m = /^\\([a-zA-Z]+)/.exec(s.slice(i));
      if (m) {
        if (!IGNORED_COMMANDS.has(m[1]!)) out.push({ t: "cmd", v: m[1]! });
        i += m[0].length;
      } else {
        const nx = s[i + 1] ?? "";
        if (nx === "\\") out.push({ t: "op", v: "\\\\" });
        else if (nx === "{" || nx === "}") out.push({ t: "op", v: `\\${nx}` });
        else if (nx === "|") out.push({ t: "op", v: "|" });
        else if (nx === "%") out.push({ t: "op", v: "%" });
        // other "\x" (spacing etc.) ignored
        i += 2;
      }
    } else if (c === "<" || c === ">" || c === "!") {
      if (s[i + 1] === "=") {
        out.push({ t: "op", v: c === "!" ? "!=" : `${c}=` });
        i += 2;
      } else {
        out.push({ t: "op", v: c });
        i++;
      }
    } else if ("+-*/^_()[]{},=|&;:'".includes(c)) {
      out.push({ t: "op", v: c });
      i++;
    } else {
      throw new LatexParseError(`unsupported character ${JSON.stringify(c)} at ${i}`);
    }
    if (out.length > limits.maxTokens) {
      throw new LatexParseError(`too many tokens: > ${limits.maxTokens}`);
    }
  }
  return out;
}

const REL_CMDS: Record<string, RelOp> = {
  le: "<=",
  leq: "<=",
  leqslant: "<=",
  ge: ">=",
  geq: ">=",
  geqslant: ">=",
  ne: "!=",
  neq: "!=",
  lt: "<",
  gt: ">",
  approx: "~",
  simeq: "~",
};

/** Parser work allowed per token: backtracking (mixed numbers, set-builder) re-reads a subtree. */
export const PARSE_WORK_PER_TOKEN = 64;

class Parser {
  private pos = 0;
  private depth = 0;
  /** Rule entries so far; bounded so that backtracking can never blow up (see `enter`). */
  private work = 0;
  private readonly maxWork: number;
  constructor(
    private readonly toks: Tok[],
    private readonly limits: ParseLimits,
  ) {
    this.maxWork = PARSE_WORK_PER_TOKEN * (toks.length + 16);
  }

  private peek(o = 0): Tok | undefined {
    return this.toks[this.pos + o];
  }
  private isOp(v: string, o = 0): boolean {
    const t = this.peek(o);
    return t !== undefined && t.t === "op" && t.v === v;
  }
  private isCmd(v: string, o = 0): boolean {
    const t = this.peek(o);
    return t !== undefined && t.t === "cmd" && t.v === v;
  }
  private next(): Tok {
    const t = this.toks[this.pos++];
    if (t === undefined) throw new LatexParseError("unexpected end of input");
    return t;
  }
  private expectOp(v: string): void {
    const t = this.next();
    if (t.t !== "op" || t.v !== v) throw new LatexParseError(`expected '${v}', got '${t.v}'`);
  }
  private enter(): void {
    if (++this.work > this.maxWork) {
      throw new LatexParseError(`parse work over ${this.maxWork} rule entries (${this.toks.length} tokens)`);
    }
    if (++this.depth > this.limits.maxDepth)
      throw new LatexParseError(`nesting deeper than ${this.limits.maxDepth}`);
  }
  private leave(): void {
    this.depth--;
  }

  /**
   * Split the number token at `pos` into its first digit and the rest (as two tokens, so that
   * backtracking re-reads the same split) and consume the first digit.
   */
  private splitLeadingDigit(v: string): string {
    this.toks.splice(this.pos, 1, { t: "num", v: v[0]! }, { t: "num", v: v.slice(1) });
    this.pos++;
    return v[0]!;
  }

  atEnd(): boolean {
    return this.pos >= this.toks.length;
  }

  /** Top level: comma/semicolon separated list. */
  parseTop(): Expr {
    const items = this.parseItems(() => this.atEnd());
    if (!this.atEnd()) throw new LatexParseError(`unexpected '${this.peek()!.v}'`);
    if (items.length === 1) return items[0]!;
    return { k: "seq", open: "", close: "", items };
  }

  private parseItems(stop: () => boolean): Expr[] {
    const items: Expr[] = [];
    if (stop()) return items;
    items.push(this.parseUnion());
    while (this.isOp(",") || this.isOp(";")) {
      this.next();
      if (stop()) break; // trailing comma
      items.push(this.parseUnion());
    }
    return items;
  }

  private parseUnion(): Expr {
    const parts = [this.parseRel()];
    while (this.isCmd("cup")) {
      this.next();
      parts.push(this.parseRel());
    }
    return parts.length === 1 ? parts[0]! : { k: "union", parts };
  }

  private relOp(): RelOp | null {
    const t = this.peek();
    if (t === undefined) return null;
    if (
      t.t === "op" &&
      (t.v === "=" || t.v === "<" || t.v === ">" || t.v === "<=" || t.v === ">=" || t.v === "!=")
    ) {
      return t.v as RelOp;
    }
    if (t.t === "cmd" && REL_CMDS[t.v] !== undefined) return REL_CMDS[t.v]!;
    return null;
  }

  private parseRel(): Expr {
    const parts = [this.parseSum()];
    const ops: RelOp[] = [];
    for (let op = this.relOp(); op !== null; op = this.relOp()) {
      this.next();
      ops.push(op);
      parts.push(this.parseSum());
    }
    return ops.length === 0 ? parts[0]! : { k: "rel", ops, parts };
  }

  private parseSum(): Expr {
    this.enter();
    let left = this.parseTerm();
    for (;;) {
      if (this.isOp("+")) {
        this.next();
        left = { k: "bin", op: "+", a: left, b: this.parseTerm() };
      } else if (this.isOp("-")) {
        this.next();
        left = { k: "bin", op: "-", a: left, b: this.parseTerm() };
      } else if (this.isCmd("pm") || this.isCmd("mp")) {
        const mp = this.next().v === "mp";
        const b = this.parseTerm();
        left = { k: "pm", a: left, b: mp ? { k: "neg", a: b } : b };
      } else break;
    }
    this.leave();
    return left;
  }

  private startsFactor(): boolean {
    const t = this.peek();
    if (t === undefined) return false;
    if (t.t === "num" || t.t === "id") return true;
    if (t.t === "op") return t.v === "(" || t.v === "[" || t.v === "{" || t.v === "\\{";
    // commands: everything that is not an operator/relation/structure keyword
    return !(REL_CMDS[t.v] !== undefined || NON_FACTOR_COMMANDS.has(t.v));
  }

  private parseTerm(): Expr {
    this.enter();
    let left = this.parseUnary();
    let first = true;
    for (;;) {
      if (this.isOp("*") || this.isCmd("cdot") || this.isCmd("times")) {
        this.next();
        left = { k: "bin", op: "*", a: left, b: this.parseUnary() };
      } else if (this.isOp("/") || this.isCmd("div")) {
        this.next();
        left = { k: "bin", op: "/", a: left, b: this.parseUnary() };
      } else if (this.startsFactor()) {
        // mixed number: 3\frac{1}{2}, -1\frac{1}{4}
        if (first && this.isCmd("frac") && isIntLiteral(left)) {
          const save = this.pos;
          const fr = this.parsePower();
          if (fr.k === "bin" && fr.op === "/" && isPlainInt(fr.a) && isPlainInt(fr.b)) {
            const neg = left.k === "neg";
            const whole = neg ? (left as { a: Expr }).a : left;
            const sum: Expr = { k: "bin", op: "+", a: whole, b: fr };
            left = neg ? { k: "neg", a: sum } : sum;
            first = false;
            continue;
          }
          this.pos = save;
        }
        left = { k: "bin", op: "*", a: left, b: this.parsePower() };
      } else break;
      first = false;
    }
    this.leave();
    return left;
  }

  private parseUnary(): Expr {
    if (this.isOp("-")) {
      this.next();
      return { k: "neg", a: this.parseUnary() };
    }
    if (this.isOp("+")) {
      this.next();
      return this.parseUnary();
    }
    if (this.isCmd("pm") || this.isCmd("mp")) {
      this.next();
      return { k: "pm", a: { k: "num", v: 0, text: "0" }, b: this.parseUnary() };
    }
    return this.parsePower();
  }

  /** Exponent / sub-script argument: a `{group}`, or a single token (one digit of a number). */
  private parseScriptArg(): Expr {
    const t = this.peek();
    if (t === undefined) throw new LatexParseError("missing exponent");
    if (t.t === "op" && t.v === "{") return this.parseBraceGroup();
    if (t.t === "num" && t.v.length > 1 && /^\d/.test(t.v)) {
      // x^23 means x^{2}3
      return numNode(this.splitLeadingDigit(t.v));
    }
    if (t.t === "op" && t.v === "-") {
      this.next();
      return { k: "neg", a: this.parseScriptArg() };
    }
    return this.parseAtom();
  }

  private parsePower(): Expr {
    this.enter();
    let base = this.parsePostfix();
    if (
      this.isOp("^") &&
      (this.isCmd("prime", 1) || (this.isOp("{", 1) && this.isCmd("prime", 2) && this.isOp("}", 3)))
    ) {
      this.pos += this.isCmd("prime", 1) ? 2 : 4;
      if (base.k === "sym") base = { k: "sym", name: `${base.name}'` };
      else throw new LatexParseError("prime on a non-symbol");
    }
    if (this.isOp("^") && this.isCmd("circ", 1)) {
      // degrees → radians (only reached when a trig function is present, see normalizeAnswer)
      this.pos += 2;
      const deg: Expr = { k: "bin", op: "/", a: { k: "const", name: "pi" }, b: numNode("180") };
      base = { k: "bin", op: "*", a: base, b: deg };
    }
    if (this.isOp("^")) {
      this.next();
      const ex = this.parseScriptArg();
      base = { k: "bin", op: "^", a: base, b: ex };
      while (this.isOp("!")) {
        this.next();
        base = { k: "fn", name: "factorial", args: [base] };
      }
    }
    this.leave();
    return base;
  }

  private parsePostfix(): Expr {
    let a = this.parseAtom();
    for (;;) {
      if (this.isOp("!")) {
        this.next();
        a = { k: "fn", name: "factorial", args: [a] };
      } else if (this.isOp("'")) {
        this.next();
        if (a.k === "sym") a = { k: "sym", name: `${a.name}'` };
      } else break;
    }
    return a;
  }

  private parseBraceGroup(): Expr {
    this.expectOp("{");
    const items = this.parseItems(() => this.isOp("}"));
    this.expectOp("}");
    if (items.length === 0) throw new LatexParseError("empty group {}");
    return items.length === 1 ? items[0]! : { k: "seq", open: "", close: "", items };
  }

  /** Argument of \frac, \sqrt, …: a brace group or a single token. */
  private parseCmdArg(): Expr {
    const t = this.peek();
    if (t === undefined) throw new LatexParseError("missing argument");
    if (t.t === "op" && t.v === "{") return this.parseBraceGroup();
    if (t.t === "num" && /^\d\d/.test(t.v)) {
      // \frac12 → \frac{1}{2}
      return numNode(this.splitLeadingDigit(t.v));
    }
    return this.parseAtom();
  }

  private parseSubscriptName(): string {
    const t = this.peek();
    if (t === undefined) throw new LatexParseError("missing subscript");
    if (t.t === "op" && t.v === "{") {
      this.next();
      let name = "";
      let depth = 1;
      while (depth > 0) {
        const u = this.next();
        if (u.t === "op" && u.v === "{") depth++;
        if (u.t === "op" && u.v === "}") depth--;
        if (depth > 0) name += u.v;
      }
      return name;
    }
    if (t.t === "num" && t.v.length > 1) return this.splitLeadingDigit(t.v);
    this.next();
    return t.v;
  }

  private parseFunctionArg(): Expr {
    if (this.isOp("(")) return this.parseAtom();
    if (this.isOp("{")) return this.parseBraceGroup();
    // \sin 2x, \log x^2: a power followed by implicitly multiplied non-function factors
    let a = this.parsePower();
    for (;;) {
      const t = this.peek();
      if (t === undefined) break;
      if (t.t === "num" || t.t === "id" || (t.t === "cmd" && (t.v === "pi" || GREEK.has(t.v)))) {
        a = { k: "bin", op: "*", a, b: this.parsePower() };
      } else break;
    }
    return a;
  }

  private parseFunction(name: string): Expr {
    let power: Expr | null = null;
    let base: Expr | null = null;
    let inverse = false;
    for (let guard = 0; guard < 2; guard++) {
      if (this.isOp("^")) {
        this.next();
        const p = this.parseScriptArg();
        if (p.k === "neg" && p.a.k === "num" && p.a.v === 1) inverse = true;
        else power = p;
      } else if (this.isOp("_")) {
        this.next();
        base = this.parseScriptArg();
      }
    }
    const arg = this.parseFunctionArg();
    let fname = name === "lg" ? "log10" : name;
    if (inverse) {
      if (!["sin", "cos", "tan", "sec", "csc", "cot"].includes(name)) {
        throw new LatexParseError(`inverse of ${name} not supported`);
      }
      fname = `a${name}`;
    }
    let out: Expr;
    if (fname === "log") {
      out =
        base === null ? { k: "fn", name: "log10", args: [arg] } : { k: "fn", name: "log", args: [arg, base] };
    } else if (fname === "ln") {
      out = { k: "fn", name: "log", args: [arg] };
    } else if (fname === "max" || fname === "min" || fname === "gcd" || fname === "lcm") {
      out = { k: "fn", name: fname, args: arg.k === "seq" ? arg.items : [arg] };
    } else {
      out = { k: "fn", name: fname.replace(/^arc/, "a"), args: [arg] };
    }
    if (power !== null) out = { k: "bin", op: "^", a: out, b: power };
    return out;
  }

  private parseGroup(open: string, closers: string[]): Expr {
    if (open === "\\{") {
      // set-builder {x | cond} / {x : cond} / {x \mid cond} → the condition
      const save = this.pos;
      try {
        const head = this.parseSum();
        if ((this.isOp("|") || this.isOp(":") || this.isCmd("mid")) && head.k === "sym") {
          this.next();
          const cond = this.parseUnion();
          if (this.isOp("\\}")) {
            this.next();
            return cond;
          }
        }
      } catch (e) {
        if (!(e instanceof LatexParseError)) throw e;
      }
      this.pos = save;
    }
    const items = this.parseItems(() => closers.some((c) => this.isOp(c)));
    const t = this.next();
    if (t.t !== "op" || !closers.includes(t.v)) throw new LatexParseError(`expected ${closers.join(" or ")}`);
    const close = t.v;
    if (open === "\\{") return { k: "seq", open: "{", close: "}", items };
    if (items.length === 1 && ((open === "(" && close === ")") || (open === "[" && close === "]"))) {
      return items[0]!;
    }
    if (items.length === 0) throw new LatexParseError("empty brackets");
    return { k: "seq", open, close, items };
  }

  private parseMatrix(env: string): Expr {
    const rows: Expr[][] = [[]];
    for (;;) {
      if (this.isCmd("end")) {
        this.next();
        this.expectOp("{");
        while (!this.isOp("}")) this.next();
        this.next();
        break;
      }
      if (this.atEnd()) throw new LatexParseError(`unterminated ${env}`);
      const cell = this.parseUnion();
      rows[rows.length - 1]!.push(cell);
      if (this.isOp("&")) this.next();
      else if (this.isOp("\\\\")) {
        this.next();
        if (!this.isCmd("end")) rows.push([]);
      }
    }
    const width = rows[0]!.length;
    if (rows.some((r) => r.length !== width)) throw new LatexParseError("ragged matrix");
    return { k: "matrix", rows };
  }

  private parseAtom(): Expr {
    this.enter();
    try {
      const t = this.next();
      if (t.t === "num") {
        // a number in another base: 1011_2, 4210_{5}
        if (this.isOp("_") && /^\d+$/.test(t.v)) {
          this.next();
          return { k: "sym", name: `${t.v}_${this.parseSubscriptName()}` };
        }
        return numNode(t.v);
      }
      if (t.t === "id") {
        let name = t.v;
        if (this.isOp("_")) {
          this.next();
          name = `${name}_${this.parseSubscriptName()}`;
        }
        if (name === "e") return { k: "const", name: "e" };
        if (name === "i") return { k: "const", name: "i" };
        return { k: "sym", name };
      }
      if (t.t === "op") {
        if (t.v === "(") return this.parseGroup("(", [")", "]"]);
        if (t.v === "[") return this.parseGroup("[", ["]", ")"]);
        if (t.v === "\\{") return this.parseGroup("\\{", ["\\}"]);
        if (t.v === "{") {
          this.pos--;
          return this.parseBraceGroup();
        }
        if (t.v === "|") {
          const inner = this.parseSum();
          this.expectOp("|");
          return { k: "fn", name: "abs", args: [inner] };
        }
        throw new LatexParseError(`unexpected '${t.v}'`);
      }
      // commands
      const c = t.v;
      if (c === "frac" || c === "cfrac") {
        const a = this.parseCmdArg();
        const b = this.parseCmdArg();
        return { k: "bin", op: "/", a, b };
      }
      if (c === "sqrt") {
        if (this.isOp("[")) {
          this.next();
          const n = this.parseSum();
          this.expectOp("]");
          return { k: "fn", name: "nthRoot", args: [this.parseCmdArg(), n] };
        }
        return { k: "fn", name: "sqrt", args: [this.parseCmdArg()] };
      }
      if (c === "binom" || c === "choose") {
        const a = this.parseCmdArg();
        const b = this.parseCmdArg();
        return { k: "fn", name: "binom", args: [a, b] };
      }
      if (c === "pi") return { k: "const", name: "pi" };
      if (c === "infty" || c === "infinity") return { k: "const", name: "inf" };
      if (c === "emptyset" || c === "varnothing") return { k: "emptyset" };
      if (c === "text") throw new LatexParseError("text inside an expression");
      if (c === "mathbb") {
        const arg = this.parseCmdArg();
        return { k: "sym", name: `mathbb_${arg.k === "sym" ? arg.name : "?"}` };
      }
      if (c === "begin") {
        this.expectOp("{");
        let env = "";
        while (!this.isOp("}")) env += this.next().v;
        this.next();
        if (/^(?:[pbvBV]?matrix|smallmatrix)\*?$/.test(env)) return this.parseMatrix(env);
        if (env === "array") {
          // skip column spec {cc}
          if (this.isOp("{")) {
            while (!this.isOp("}")) this.next();
            this.next();
          }
          return this.parseMatrix(env);
        }
        throw new LatexParseError(`unsupported environment ${env}`);
      }
      if (c === "lvert" || c === "rvert" || c === "vert") {
        const inner = this.parseSum();
        const u = this.next();
        if (!(u.t === "cmd" && (u.v === "rvert" || u.v === "vert")) && !(u.t === "op" && u.v === "|")) {
          throw new LatexParseError("unterminated |…|");
        }
        return { k: "fn", name: "abs", args: [inner] };
      }
      if (c === "lfloor" || c === "lceil") {
        const inner = this.parseSum();
        const u = this.next();
        if (u.t !== "cmd" || (u.v !== "rfloor" && u.v !== "rceil"))
          throw new LatexParseError("unterminated floor/ceil");
        return { k: "fn", name: c === "lfloor" ? "floor" : "ceil", args: [inner] };
      }
      if (c === "langle") {
        const items = this.parseItems(() => this.isCmd("rangle"));
        this.next();
        return { k: "seq", open: "(", close: ")", items };
      }
      if (FUNCTION_NAMES.has(c)) return this.parseFunction(c);
      if (GREEK.has(c)) return { k: "sym", name: c };
      if (c === "ell") return { k: "sym", name: "l" };
      if (DECORATIONS.has(c)) {
        const arg = this.parseCmdArg();
        if (arg.k !== "sym") throw new LatexParseError(`\\${c} on a non-symbol`);
        return { k: "sym", name: `${c}(${arg.name})` };
      }
      if (c === "exponentialE") return { k: "const", name: "e" };
      throw new LatexParseError(`unsupported command \\${c}`);
    } finally {
      this.leave();
    }
  }
}

function numNode(text: string): Expr {
  const v = Number(text);
  if (!Number.isFinite(v)) throw new LatexParseError(`bad number ${text}`);
  return { k: "num", v, text };
}

function isPlainInt(e: Expr): boolean {
  return e.k === "num" && /^\d+$/.test(e.text);
}

function isIntLiteral(e: Expr): boolean {
  return isPlainInt(e) || (e.k === "neg" && isPlainInt(e.a));
}

/** Parse a normalised LaTeX answer. Throws {@link LatexParseError} on anything outside the grammar. */
export function parseLatex(src: string, limits: ParseLimits = DEFAULT_PARSE_LIMITS): Expr {
  const toks = tokenize(src, limits);
  if (toks.length === 0) throw new LatexParseError("empty input");
  return new Parser(toks, limits).parseTop();
}

/** Number of nodes in a tree. */
export function countNodes(e: Expr): number {
  switch (e.k) {
    case "num":
    case "sym":
    case "const":
    case "emptyset":
      return 1;
    case "bin":
      return 1 + countNodes(e.a) + countNodes(e.b);
    case "neg":
      return 1 + countNodes(e.a);
    case "pm":
      return 1 + countNodes(e.a) + (e.b ? countNodes(e.b) : 0);
    case "fn":
      return 1 + e.args.reduce((s, a) => s + countNodes(a), 0);
    case "seq":
      return 1 + e.items.reduce((s, a) => s + countNodes(a), 0);
    case "rel":
    case "union":
      return 1 + e.parts.reduce((s, a) => s + countNodes(a), 0);
    case "matrix":
      return 1 + e.rows.flat().reduce((s, a) => s + countNodes(a), 0);
  }
}

/** Free variable names of a tree. */
export function freeSymbols(e: Expr, out: Set<string> = new Set()): Set<string> {
  switch (e.k) {
    case "sym":
      out.add(e.name);
      break;
    case "bin":
      freeSymbols(e.a, out);
      freeSymbols(e.b, out);
      break;
    case "neg":
      freeSymbols(e.a, out);
      break;
    case "pm":
      freeSymbols(e.a, out);
      if (e.b) freeSymbols(e.b, out);
      break;
    case "fn":
      for (const a of e.args) freeSymbols(a, out);
      break;
    case "seq":
      for (const a of e.items) freeSymbols(a, out);
      break;
    case "rel":
    case "union":
      for (const a of e.parts) freeSymbols(a, out);
      break;
    case "matrix":
      for (const a of e.rows.flat()) freeSymbols(a, out);
      break;
    default:
      break;
  }
  return out;
}

/** Expand `a \pm b` into its variants (at most `max`); trees without `\pm` give themselves. */
export function expandPm(e: Expr, max = 8): Expr[] {
  const rec = (x: Expr): Expr[] => {
    switch (x.k) {
      case "pm": {
        const as = rec(x.a);
        const bs = x.b ? rec(x.b) : [];
        const out: Expr[] = [];
        for (const a of as)
          for (const b of bs) {
            out.push({ k: "bin", op: "+", a, b }, { k: "bin", op: "-", a, b });
          }
        return out.slice(0, max);
      }
      case "bin": {
        const as = rec(x.a);
        const bs = rec(x.b);
        const out: Expr[] = [];
        for (const a of as) for (const b of bs) out.push({ ...x, a, b });
        return out.slice(0, max);
      }
      case "neg":
        return rec(x.a).map((a) => ({ k: "neg", a }));
      case "fn": {
        let combos: Expr[][] = [[]];
        for (const arg of x.args) {
          const vs = rec(arg);
          combos = combos.flatMap((c) => vs.map((v) => [...c, v])).slice(0, max);
        }
        return combos.map((args) => ({ k: "fn", name: x.name, args }));
      }
      default:
        return [x];
    }
  };
  return rec(e);
}

/** Render a tree as a mathjs expression string (symbols prefixed `v_`). Throws for structures. */
export function toMathjs(e: Expr): string {
  return render(e)[0];
}

const PREC = { "+": 1, "-": 1, "*": 2, "/": 2, neg: 3, "^": 4, atom: 5 } as const;

/** Precedence-aware printing: parentheses only where needed, so long sums stay flat for mathjs. */
function render(e: Expr): [string, number] {
  switch (e.k) {
    case "num":
      return [String(e.v), PREC.atom];
    case "sym":
      return [`v_${symbolId(e.name)}`, PREC.atom];
    case "const":
      return [e.name === "inf" ? "Infinity" : e.name, PREC.atom];
    case "bin": {
      const p = PREC[e.op];
      const [a, pa] = render(e.a);
      const [b, pb] = render(e.b);
      if (e.op === "^") {
        return [`${pa <= p ? `(${a})` : a} ^ ${pb < PREC.atom ? `(${b})` : b}`, p];
      }
      const left = pa < p ? `(${a})` : a;
      const right = e.op === "-" || e.op === "/" ? (pb <= p ? `(${b})` : b) : pb < p ? `(${b})` : b;
      return [`${left} ${e.op} ${right}`, p];
    }
    case "neg": {
      const [a, pa] = render(e.a);
      return [`-${pa < PREC["^"] ? `(${a})` : a}`, PREC.neg];
    }
    case "fn": {
      const args = e.args.map(toMathjs);
      if (e.name === "binom") return [`combinations(${args[0]}, ${args[1]})`, PREC.atom];
      return [`${e.name}(${args.join(", ")})`, PREC.atom];
    }
    default:
      throw new LatexParseError(`${e.k} is not a scalar expression`);
  }
}

const symbolIds = new Map<string, string>();
/** A mathjs-safe identifier for a variable name (stable within the process). */
export function symbolId(name: string): string {
  if (/^[A-Za-z0-9]+$/.test(name)) return name;
  let id = symbolIds.get(name);
  if (id === undefined) {
    id = `s${symbolIds.size}`;
    symbolIds.set(name, id);
  }
  return id;
}
