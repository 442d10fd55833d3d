/**
 * Final-answer extraction from model text. Linear time in the text length by construction: every
 * method is one left-to-right pass (no nested quantifiers over unbounded runs, no rescans), and an
 * answer statement's content is read from a bounded window after its marker.
 *
 * Answer statements (the last one by position wins; on a tie, the earlier method in `order`):
 * - `boxed`: `\boxed{…}` / `\fbox{…}` / `\framebox{…}` (nested braces balanced), or `\boxed 5`.
 * - `final-answer`: "Final Answer: The final answer is X. I hope it is correct." (Minerva), "The
 *   final answer is X", "Final answer: X".
 * - `gsm8k`: a `#### X` line.
 * - `short-answer`: a line `A: X` whose X is a value (GSM8K few-shot style), not a sentence.
 * - `answer-is`: "the answer is X" / "answer: X".
 * Fallbacks, only when no statement is found (the later of the two by position wins):
 * - `inline-math`: the last `$…$`, `$$…$$`, `\(…\)` or `\[…\]` span that holds a value (a bare
 *   `$n$` does not count; a pure computation `2+3 = 5` gives its result).
 * - `last-number`: the last number outside math (integers, decimals, `a/b`, thousands separators).
 */
import type { StepCounter } from "./errors.js";

/** Extraction method names. */
export type ExtractionMethod =
  | "boxed"
  | "final-answer"
  | "gsm8k"
  | "short-answer"
  | "answer-is"
  | "inline-math"
  | "last-number";

/** Default methods: every answer statement, then the two fallbacks. */
export const DEFAULT_EXTRACTION_ORDER: readonly ExtractionMethod[] = [
  "boxed",
  "final-answer",
  "gsm8k",
  "short-answer",
  "answer-is",
  "inline-math",
  "last-number",
];

const STATEMENT_METHODS: ReadonlySet<ExtractionMethod> = new Set([
  "boxed",
  "final-answer",
  "gsm8k",
  "short-answer",
  "answer-is",
]);

export interface ExtractOptions {
  /**
   * Methods to use. Answer statements compete by position (the last wins; `order` breaks ties);
   * the fallbacks (`inline-math`, `last-number`) are used only when no statement is found.
   * Default {@link DEFAULT_EXTRACTION_ORDER}.
   */
  order?: readonly ExtractionMethod[];
  /** Counts the work done (one step per character per pass); read `counter.steps` afterwards. */
  counter?: StepCounter;
}

export interface ExtractedAnswer {
  /** The answer text (outer `$…$`, `\(…\)` and a trailing period removed; otherwise as written). */
  answer: string;
  method: ExtractionMethod;
}

export interface BoxedSpan {
  content: string;
  start: number;
  end: number;
}

/** Longest answer content read after a marker (answer statements are short). */
const STATEMENT_WINDOW = 2000;
/** Statements of one kind tried from the last backwards before giving up on that kind. */
const MAX_TRIES = 8;
/** Steps charged for reading one statement's content (a few passes over its bounded window). */
const READ_STEPS = 16 * STATEMENT_WINDOW;
/**
 * Steps {@link extractAnswer} charges per character of the text (its linear passes), and the
 * most it charges on top for reading statements: `steps ≤ EXTRACT_STEPS_PER_CHAR·n + EXTRACT_STEPS_FIXED`.
 */
export const EXTRACT_STEPS_PER_CHAR = 9;
export const EXTRACT_STEPS_FIXED = 5 * MAX_TRIES * READ_STEPS;

/**
 * For every `{` the index of its matching `}` (or -1), in one pass with a stack. A backslash
 * escapes the next character (`\{` and `\}` are not braces).
 */
function matchBraces(text: string): Int32Array {
  const match = new Int32Array(text.length).fill(-1);
  const stack: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 92 /* \ */) {
      i++;
    } else if (c === 123 /* { */) {
      stack.push(i);
    } else if (c === 125 /* } */) {
      const o = stack.pop();
      if (o !== undefined) match[o] = i;
    }
  }
  return match;
}

const BOX_RE = /\\(?:boxed|fbox|framebox)(?![a-zA-Z])/g;

/** Every `\boxed{…}`-like span in `text`, in order of appearance (unterminated ones are skipped). */
export function findBoxed(text: string, counter?: StepCounter): BoxedSpan[] {
  counter?.charge(2 * text.length);
  const out: BoxedSpan[] = [];
  if (!text.includes("\\")) return out;
  let match: Int32Array | null = null;
  const re = new RegExp(BOX_RE.source, "g");
  const bare = /[^\s$]+/y;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const start = m.index;
    let k = start + m[0].length;
    // \framebox[width]{…}
    if (m[0] === "\\framebox" && text[k] === "[") {
      const close = text.slice(k, k + 40).indexOf("]");
      if (close > 0) k += close + 1;
    }
    while (text[k] === " " || text[k] === "\t") k++;
    if (text[k] === "{") {
      match ??= matchBraces(text);
      const e = match[k]!;
      if (e >= 0) {
        out.push({ content: text.slice(k + 1, e), start, end: e + 1 });
        re.lastIndex = e + 1;
      }
      continue;
    }
    if (k > start + m[0].length) {
      // `\boxed 5` form: a run of non-space characters up to `$`, whitespace or end.
      bare.lastIndex = k;
      const mm = bare.exec(text);
      if (mm) {
        out.push({ content: mm[0].replace(/[.,;]$/, ""), start, end: k + mm[0].length });
        re.lastIndex = k + mm[0].length;
      }
    }
  }
  return out;
}

function isTrimChar(c: string): boolean {
  return c === " " || c === "\n" || c === "\t" || c === "\r" || c === "." || c === ";" || c === ",";
}

/** Strip outer math delimiters and a trailing sentence period (linear time). */
export function stripAnswerDelimiters(s: string): string {
  let t = s.trim();
  for (let guard = 0; guard < 4; guard++) {
    const before = t;
    let a = 0;
    while (a < t.length) {
      const c = t[a]!;
      if (c === ":" || c === ";" || c === "," || c === " " || c === "\n" || c === "\t" || c === "\r") a++;
      else if (c === "." && !/\d/.test(t[a + 1] ?? "")) a++;
      else break;
    }
    let b = t.length;
    while (b > a && isTrimChar(t[b - 1]!)) b--;
    // keep the ellipsis of a repeating decimal ("0.333...")
    if (
      t.startsWith("...", b) &&
      /\d/.test(t[b - 1] ?? "") &&
      /\d\.\d+$/.test(t.slice(Math.max(a, b - 40), b))
    )
      b += 3;
    t = t.slice(a, b);
    // outer delimiters of one span only: "$a$ and $b$" keeps its dollars
    const inner = (open: string, close: string): string | null =>
      t.startsWith(open) && t.endsWith(close) && t.length >= open.length + close.length
        ? t.slice(open.length, t.length - close.length)
        : null;
    const dd = inner("$$", "$$");
    const d = inner("$", "$");
    const p = inner("\\(", "\\)");
    const b2 = inner("\\[", "\\]");
    if (dd !== null && !dd.includes("$$")) t = dd.trim();
    else if (d !== null && !d.includes("$")) t = d.trim();
    else if (p !== null && !p.includes("\\)")) t = p.trim();
    else if (b2 !== null && !b2.includes("\\]")) t = b2.trim();
    if (t === before) break;
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// math spans

interface MathSpan {
  /** Content between the delimiters. */
  content: string;
  start: number;
  end: number;
}

/**
 * Every math span in one pass: `$$…$$`, `\[…\]`, `\(…\)`, and `$…$` where the opening `$` is
 * followed by a non-space and the closing one preceded by a non-space and not followed by a digit
 * (so currency such as "costs $5 and $10" is not math). Spans longer than the statement window
 * are ignored.
 */
function findMathSpans(text: string, counter?: StepCounter): MathSpan[] {
  counter?.charge(2 * text.length);
  const out: MathSpan[] = [];
  const noCloser = new Set<string>();
  const closeAt = (close: string, from: number): number => {
    if (noCloser.has(close)) return -1;
    const j = text.indexOf(close, from);
    if (j < 0) noCloser.add(close);
    return j;
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "\\") {
      const n = text[i + 1];
      if (n === "(" || n === "[") {
        const close = n === "(" ? "\\)" : "\\]";
        const j = closeAt(close, i + 2);
        if (j < 0) {
          i += 2;
          continue;
        }
        if (j - i <= STATEMENT_WINDOW) out.push({ content: text.slice(i + 2, j), start: i, end: j + 2 });
        i = j + 2;
        continue;
      }
      i += 2; // an escaped character (\$ is currency, not math)
      continue;
    }
    if (c === "$") {
      if (text[i + 1] === "$") {
        const j = closeAt("$$", i + 2);
        if (j < 0) {
          i += 2;
          continue;
        }
        if (j - i <= STATEMENT_WINDOW) out.push({ content: text.slice(i + 2, j), start: i, end: j + 2 });
        i = j + 2;
        continue;
      }
      // `$ 9 $` (padded on both sides) is math too; `$5 and $` is not
      const padded = /\s/.test(text[i + 1] ?? "");
      // the next unescaped `$` on the same line closes the span, if it is a valid closer
      let j = i + 1;
      while (j < text.length && text[j] !== "$" && text[j] !== "\n") j += text[j] === "\\" ? 2 : 1;
      if (j >= text.length || text[j] !== "$") {
        i = j;
        continue;
      }
      const before = text[j - 1] ?? " ";
      const next = text[j + 1] ?? "";
      const closes =
        !/\d/.test(next) &&
        next !== "$" &&
        (padded
          ? /\s/.test(before) && j - i <= STATEMENT_WINDOW && isMathContent(text.slice(i + 1, j))
          : !/\s/.test(before));
      if (!closes) {
        i = j; // not a closer; it may open the next span
        continue;
      }
      if (j - i <= STATEMENT_WINDOW) out.push({ content: text.slice(i + 1, j), start: i, end: j + 1 });
      i = j + 1;
      continue;
    }
    i++;
  }
  return out;
}

/** Non-empty content that is not a sentence (fewer than 3 words outside commands and `\text{}`). */
function isMathContent(content: string): boolean {
  if (content.trim() === "") return false;
  const bare = content.replace(/\\text\s*\{[^{}]*\}|\\[a-zA-Z]+/g, " ");
  return bare.split(/\s+/).filter((w) => /[a-zA-Z]{2,}/.test(w)).length < 3;
}

/** Index of the last top-level `=` (outside braces/brackets) in a short math string, else -1. */
function lastTopLevelEquals(s: string): number {
  let depth = 0;
  let last = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "\\") {
      i++;
      continue;
    }
    if (c === "{" || c === "(" || c === "[") depth++;
    else if (c === "}" || c === ")" || c === "]") depth--;
    else if (c === "=" && depth === 0 && s[i - 1] !== "<" && s[i - 1] !== ">" && s[i - 1] !== "!") last = i;
  }
  return last;
}

/** Letters outside LaTeX command names (`\frac` does not count, `x` does). */
function hasVariableLetters(s: string): boolean {
  return /[a-zA-Z]/.test(s.replace(/\\[a-zA-Z]+/g, ""));
}

/**
 * The value a fallback math span gives: a bare symbol (`n`, `\alpha`) gives nothing; a pure
 * computation `2+3 = 5` (no variable on the left) gives its result `5`; anything else as written.
 */
function spanValue(content: string): string | null {
  const t = content.trim();
  if (t === "" || /^(?:[a-zA-Z]|\\[a-zA-Z]+)(?:_\{?\w+\}?)?$/.test(t)) return null;
  const eqAt = lastTopLevelEquals(t);
  if (eqAt >= 0) {
    const lhs = t.slice(0, eqAt);
    const rhs = t.slice(eqAt + 1).trim();
    // `2+3 = 5` or `\text{Total} = 18` → the value; `2x = 10` stays an equation
    const labelOnLeft = /^\s*(?:[a-zA-Z](?:_\{?\w+\}?)?|\\text\s*\{[^{}]*\})\s*$/.test(lhs);
    if (rhs !== "" && !hasVariableLetters(rhs) && (labelOnLeft || !hasVariableLetters(lhs))) return rhs;
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// answer statements

/** Whether a statement's content reads as a value rather than a sentence. */
function isValueLike(s: string): boolean {
  const t = stripAnswerDelimiters(s);
  if (t === "") return false;
  // "reasonable because the sum is 5": starts with a lower-case word and has two or more of them
  const bare = t.replace(/\$[^$]*\$|\\[a-zA-Z]+/g, " ").trim();
  const prose = bare.split(/\s+/).filter((w) => /^[a-z]{2,}[,.;:]?$/.test(w)).length;
  if (/^[a-z]{2,}\b/.test(bare) && prose >= 2) return false;
  if (/[\d\\$^_=]/.test(t)) return true;
  return t.split(/\s+/).length <= 3;
}

/**
 * Reduce a prose answer sentence to its value: "The largest $n$ is 34" → `34`; "the area is
 * $\frac{1}{2}$" → `\frac{1}{2}`. Content that is already a value is returned unchanged.
 */
function reduceProse(s: string): string {
  const t = stripAnswerDelimiters(s);
  const bare = t.replace(/\$[^$]*\$|\\text\{[^{}]*\}|\\[a-zA-Z]+|\\[()[\]]/g, " ");
  const words = bare.split(/\s+/).filter((w) => /[a-zA-Z]{2,}/.test(w) && !/^(?:and|or)[,.;]?$/i.test(w));
  // a value with a word or two ("1.8 billion", "12 square units", "Devon") stays as written;
  // a sentence, or words around inline math ("therefore $5$"), is reduced
  if (words.length === 0 || (words.length < 3 && !/\$|\\\(/.test(t))) return t;
  const verb = /\b(?:is|are|was|equals|be|of|to)\b|=/g;
  let last: RegExpExecArray | null = null;
  for (let m = verb.exec(t); m !== null; m = verb.exec(t)) last = m;
  if (last !== null) {
    const tail = stripAnswerDelimiters(t.slice(last.index + last[0].length));
    if (tail !== "" && isValueLike(tail)) return tail;
  }
  // "all real numbers x such that x \geq 5" → the relation, kept whole
  const rel = /(?:^|\s)[a-zA-Z]\s*(?:\\[gl]eq?\b|\\neq?\b|[<>]=?|=)/g;
  let lastRel: RegExpExecArray | null = null;
  for (let m = rel.exec(t); m !== null; m = rel.exec(t)) lastRel = m;
  if (lastRel !== null) {
    const tail = stripAnswerDelimiters(t.slice(lastRel.index));
    if (isValueLike(tail)) return tail;
  }
  const spans = findMathSpans(t);
  for (let i = spans.length - 1; i >= 0; i--) {
    const v = spanValue(spans[i]!.content);
    if (v !== null) return v;
  }
  const num = lastNumber(t);
  return num !== null ? num.value : t;
}

/**
 * Index of the first sentence-ending period (followed by a space or the end) that is not part of
 * a number's ellipsis (`0.333...`), else the line length.
 */
function sentenceEnd(line: string): number {
  for (let k = 0; k < line.length; k++) {
    if (line[k] !== ".") continue;
    const next = line[k + 1];
    if (next !== undefined && !/\s/.test(next)) continue;
    // "0.333..." — the dots after a digit belong to the number
    if (line[k - 1] === "." && line[k - 2] === "." && /\d/.test(line[k - 3] ?? "")) continue;
    return k;
  }
  return line.length;
}

/** Take a math span from the start of a sentence fragment: `$…$`, `\(…\)`, or up to the sentence end. */
function takeSentenceAnswer(rest0: string): string {
  const r = rest0.slice(0, STATEMENT_WINDOW).trim();
  const boxed = findBoxed(r);
  if (boxed.length > 0 && boxed[0]!.start < 3) return boxed[0]!.content;
  // a math span right at the start (a `$` that is currency, "$18. She paid $5", is not one)
  let line = r.split("\n")[0] ?? "";
  const first = findMathSpans(r.slice(0, 400))[0];
  if (first !== undefined && first.start === 0) {
    // the span alone ends the sentence ("$x = 3$. Done"), not "\(x\) equals \(\frac12\)"
    const rest = first.end >= line.length ? "" : line.slice(first.end);
    if (/^[\s,;:!)]*$/.test(rest.slice(0, sentenceEnd(rest)))) return first.content;
  }
  // Up to a sentence end: ". " / ".\n" / end of line; Minerva's "I hope it is correct" cut off.
  const hope = line.search(/I hope it is correct/i);
  if (hope >= 0) line = line.slice(0, hope);
  return reduceProse(line.slice(0, sentenceEnd(line)).trim());
}

interface Candidate {
  method: ExtractionMethod;
  /** Position of the statement (its marker) in the text. */
  pos: number;
  /** Computes the answer text lazily (only for the statements that are tried). */
  read: () => string | null;
}

const FINAL_RE =
  /\bfinal\s{0,3}answer\b(?:\*\*)?[ \t]{0,3}(?:is\b|:|=)[ \t]{0,3}(?:\*\*)?[ \t]{0,3}(?:the\s{1,3}final\s{1,3}answer\s{1,3}is\b)?/gi;
const GSM8K_RE = /(?<!#)####(?!#)[ \t]*/g;
/** A `#### X` value: a number with an optional currency sign and up to two unit words. */
const GSM8K_VALUE_RE = /^[-+]?\\?\$?\s*[-+]?\d[\d,]*(?:\.\d+)?(?:\/\d+)?\s*(?:[a-zA-Z%]+\.?\s*){0,2}$/;
const SHORT_RE = /(?:^|\n)[ \t]*A:[ \t]*/g;
/** "the answer is X" / "answer: X" — not "final answer" (its own method) nor "our answer is correct". */
const ANSWER_IS_RE = /(?<!(?:final|our|my|this|that|your)\s{1,3})\banswer\s{0,3}(?:is\b|:)[ \t]{0,3}:?/gi;
/** Verdict words that follow "answer is" in a check, not an answer. */
const CHECK_WORDS_RE =
  /^(?:correct|incorrect|right|wrong|valid|invalid|reasonable|consistent|verified|confirmed|accurate|plausible)\b/i;

/** The last `MAX_TRIES` matches of a marker regex (one linear pass). */
function lastMarkers(re: RegExp, text: string): Array<{ index: number; end: number }> {
  const out: Array<{ index: number; end: number }> = [];
  const r = new RegExp(re.source, re.flags);
  for (let m = r.exec(text); m !== null; m = r.exec(text)) {
    out.push({ index: m.index, end: m.index + m[0].length });
    if (out.length > MAX_TRIES) out.shift();
    if (m[0].length === 0) r.lastIndex++;
  }
  return out;
}

function statementCandidates(method: ExtractionMethod, text: string, counter?: StepCounter): Candidate[] {
  switch (method) {
    case "boxed":
      return findBoxed(text, counter).map((b) => ({ method, pos: b.start, read: () => b.content }));
    case "final-answer":
      counter?.charge(text.length);
      return lastMarkers(FINAL_RE, text).map((m) => ({
        method,
        pos: m.index,
        read: () => takeSentenceAnswer(text.slice(m.end, m.end + STATEMENT_WINDOW)),
      }));
    case "gsm8k":
      counter?.charge(text.length);
      return lastMarkers(GSM8K_RE, text).map((m) => ({
        method,
        pos: m.index,
        read: () => {
          const rest = text.slice(m.end, m.end + STATEMENT_WINDOW);
          const nl = rest.indexOf("\n");
          const line = (nl >= 0 ? rest.slice(0, nl) : rest).trim();
          // a value, not a markdown heading ("#### Step 2: …") or degenerate "######"
          return GSM8K_VALUE_RE.test(line) ? line : null;
        },
      }));
    case "short-answer":
      counter?.charge(text.length);
      return lastMarkers(SHORT_RE, text).map((m) => ({
        method,
        pos: m.index,
        read: () => {
          const rest = text.slice(m.end, m.end + STATEMENT_WINDOW);
          const nl = rest.indexOf("\n");
          const line = nl >= 0 ? rest.slice(0, nl) : rest;
          const t = line.replace(/\s*\.$/, "");
          // a value, not a sentence ("A: She has 5 apples" is the start of a worked answer)
          return /^[\s$\\]*-?[\d.$\\(]/.test(t) && t.split(/\s+/).length <= 3 ? t : null;
        },
      }));
    case "answer-is":
      counter?.charge(text.length);
      return lastMarkers(ANSWER_IS_RE, text).map((m) => ({
        method,
        pos: m.index,
        read: () => {
          const a = takeSentenceAnswer(text.slice(m.end, m.end + STATEMENT_WINDOW));
          return isValueLike(a) && !CHECK_WORDS_RE.test(stripAnswerDelimiters(a)) ? a : null;
        },
      }));
    default:
      return [];
  }
}

/** Vulgar fraction characters (½ ⅓ ¾ …), read as numbers by the fallback and by the normaliser. */
export const VULGAR_FRACTIONS: Readonly<Record<string, string>> = {
  "½": "1/2",
  "⅓": "1/3",
  "⅔": "2/3",
  "¼": "1/4",
  "¾": "3/4",
  "⅕": "1/5",
  "⅖": "2/5",
  "⅗": "3/5",
  "⅘": "4/5",
  "⅙": "1/6",
  "⅚": "5/6",
  "⅐": "1/7",
  "⅛": "1/8",
  "⅜": "3/8",
  "⅝": "5/8",
  "⅞": "7/8",
  "⅑": "1/9",
  "⅒": "1/10",
};

const NUMBER_RE =
  /-?\d+ \d+\/\d+(?![\d/])|-?(?:[1-9]\d{0,2}(?:,\d{3})+(?!\d)|\d+)?[½⅓⅔¼¾⅕⅖⅗⅘⅙⅚⅐⅛⅜⅝⅞⅑⅒]|-?(?:[1-9]\d{0,2}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+(?:\.\.\.|…)?)?(?:\/\d+)?|-?\.\d+/g;

/** The last number of `text` (commas of thousands separators removed), with its span. */
function lastNumber(
  text: string,
  counter?: StepCounter,
): { value: string; start: number; end: number } | null {
  counter?.charge(text.length);
  const re = new RegExp(NUMBER_RE.source, "g");
  let last: RegExpExecArray | null = null;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) last = m;
  if (last === null) return null;
  return { value: last[0].replace(/,/g, ""), start: last.index, end: last.index + last[0].length };
}

/** The fallback answer: the later of the last valued math span and the last number outside it. */
function fallback(
  text: string,
  order: readonly ExtractionMethod[],
  counter?: StepCounter,
): ExtractedAnswer | null {
  let span: { value: string; start: number; end: number } | null = null;
  if (order.includes("inline-math")) {
    const spans = findMathSpans(text, counter);
    for (let i = spans.length - 1; i >= 0 && i >= spans.length - MAX_TRIES; i--) {
      const s = spans[i]!;
      const v = spanValue(s.content);
      if (v !== null) {
        span = { value: v, start: s.start, end: s.end };
        break;
      }
    }
  }
  let num = order.includes("last-number") ? lastNumber(text, counter) : null;
  if (num !== null) {
    // "the solution set is x \geq 5": an inequality is kept whole, not cut to its number
    const before = text.slice(Math.max(0, num.start - 30), num.start);
    const rel = /(?:^|[\s(])([a-zA-Z](?:_\{?\w+\}?)?\s*(?:\\[gl]eq?|\\neq?|[<>]=?|≤|≥|≠)\s*)$/.exec(before);
    if (rel !== null) num = { ...num, value: `${rel[1]}${num.value}`, start: num.start - rel[1]!.length };
  }
  const pick =
    span !== null && (num === null || num.start < span.end)
      ? { value: span.value, method: "inline-math" as const }
      : num !== null
        ? { value: num.value, method: "last-number" as const }
        : null;
  if (pick === null) return null;
  const answer = stripAnswerDelimiters(pick.value);
  return answer.length > 0 ? { answer, method: pick.method } : null;
}

/**
 * Extract the final answer from model output: the last answer statement by position, else the
 * fallback. Returns `null` when no method finds one.
 */
export function extractAnswer(text: string, opts: ExtractOptions = {}): ExtractedAnswer | null {
  const order = opts.order ?? DEFAULT_EXTRACTION_ORDER;
  const cands: Candidate[] = [];
  for (const method of order) {
    if (STATEMENT_METHODS.has(method)) {
      const cs = statementCandidates(method, text, opts.counter);
      cands.push(...cs.slice(-MAX_TRIES));
    }
  }
  // last by position first; ties keep the order of `order` (stable sort)
  cands.sort((a, b) => b.pos - a.pos);
  for (const c of cands) {
    opts.counter?.charge(READ_STEPS);
    const raw = c.read();
    if (raw === null) continue;
    const answer = stripAnswerDelimiters(raw);
    if (answer.length > 0) return { answer, method: c.method };
  }
  return fallback(text, order, opts.counter);
}

/**
 * All candidate answers, most preferred first: every boxed answer (last first), then one candidate
 * per other method in `order`. Duplicates removed. Useful for "several boxed answers" responses.
 */
export function extractAnswers(text: string, opts: ExtractOptions = {}): ExtractedAnswer[] {
  const order = opts.order ?? DEFAULT_EXTRACTION_ORDER;
  const out: ExtractedAnswer[] = [];
  const seen = new Set<string>();
  const push = (answer: string, method: ExtractionMethod) => {
    const a = stripAnswerDelimiters(answer);
    if (a.length === 0 || seen.has(a)) return;
    seen.add(a);
    out.push({ answer: a, method });
  };
  for (const method of order) {
    if (method === "boxed") {
      const b = findBoxed(text, opts.counter);
      for (let i = b.length - 1; i >= 0; i--) push(b[i]!.content, "boxed");
    } else if (STATEMENT_METHODS.has(method)) {
      const cs = statementCandidates(method, text, opts.counter);
      for (let i = cs.length - 1; i >= 0; i--) {
        opts.counter?.charge(READ_STEPS);
        const raw = cs[i]!.read();
        if (raw !== null && stripAnswerDelimiters(raw) !== "") {
          push(raw, method);
          break;
        }
      }
    } else {
      const f = fallback(text, [method], opts.counter);
      if (f !== null) push(f.answer, method);
    }
  }
  return out;
}

/** Text between two boxes that joins them into one list answer ("\boxed{2} and \boxed{3}"). */
const LIST_GAP_RE =
  /^(?:\s|\$|,|;|\\quad|\\qquad|\\[,;!]|\\\\|\\text\s*\{\s*(?:and|or|,)?\s*\}|\band\b|\bor\b|&)*$/i;

/**
 * The boxes that end the response together, in order: the last box and the boxes just before it
 * separated only by list connectors (commas, "and", "or", `$`, spacing) — e.g. "the roots are
 * \boxed{2} and \boxed{3}" gives ["2", "3"], while a box from the reasoning, with words between,
 * is not included. Empty when there is no box.
 */
export function lastLineBoxed(text: string, counter?: StepCounter): string[] {
  const b = findBoxed(text, counter);
  if (b.length === 0) return [];
  let first = b.length - 1;
  while (first > 0) {
    const from = b[first - 1]!.end;
    const to = b[first]!.start;
    if (to - from > 40 || !LIST_GAP_RE.test(text.slice(from, to))) break;
    first--;
    if (b.length - first > 64) break;
  }
  return b.slice(first).map((x) => stripAnswerDelimiters(x.content));
}
