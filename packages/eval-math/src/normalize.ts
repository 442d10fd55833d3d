/**
 * String-level normalisation of LaTeX answers, applied before parsing.
 *
 * Rules (in order): outer `$…$`/`\(…\)` removed; `\left`/`\right`/`\big…` sizing dropped; spacing
 * commands (`\!`, `\,`, `\;`, `\quad`, `~`) → space; `\dfrac`/`\tfrac` → `\frac`; `\dbinom` →
 * `\binom`; `\mathrm`/`\mbox`/`\textbf`/… → `\text`; `^\circ`/`°`/`\degree` removed (kept as a conversion to radians when a trig function is present); `\$` and `$`
 * removed; `\%` → `%`; percent words (`pct`, `percent`, `percentage`) → percent; scale words
 * (`1.8 billion`) → `×10^k`; thousands separators (`{,}`, `,\!`, and `1,234,567` when it is the whole
 * answer, with no space after a comma and no leading `0` group) removed; `0.\overline{3}` and
 * `0.333...` → exact fraction; vulgar fractions (`½`) → `\frac`; unit words (in `\text{…}` after a
 * value, or a known unit word after a number) removed; a whole-answer `\text{…}` unwrapped;
 * "or"/"and" between items → list comma; trailing `.` removed.
 *
 * Every rule is a linear pass (or an anchored pattern whose backtracking the length cap
 * {@link MAX_NORMALIZE_LENGTH} bounds); a longer input is returned with only its delimiters stripped.
 */
import type { StepCounter } from "./errors.js";
import { findBoxed, stripAnswerDelimiters, VULGAR_FRACTIONS } from "./extract.js";

/** Unit and counting words stripped after a value (lower-case; plural `s` handled). */
export const UNIT_WORDS: readonly string[] = (
  "unit square cubic sq degree radian rad dollar cent euro " +
  "mm cm m km meter metre centimeter millimeter kilometer inch in ft feet foot yard yd mile mi mph kph " +
  "hour hr h minute min second sec s day week month year " +
  "gram g kg kilogram pound lb ounce oz ton liter litre l ml gallon cup quart pint calorie " +
  "people person student point page way time coin marble ball book apple egg item dozen " +
  "erg j joule kj ev kev mev w watt n newton pa hz khz mhz k kelvin au pc parsec ly nm angstrom mol"
).split(" ");

const UNIT_SET = new Set(UNIT_WORDS);

/** Whether `\text{…}` content is made of unit words only ("cm", "square units", "km/h", "m s^-1"). */
export function isUnitText(inner: string): boolean {
  const words = inner
    .toLowerCase()
    .replace(/\\[a-z]+|[~.{}]/g, " ")
    .split(/[\s/^\-0-9*]+|\bper\b/)
    .filter((w) => w.length > 0);
  if (words.length === 0) return false;
  return words.every(
    (w) => UNIT_SET.has(w) || UNIT_SET.has(w.replace(/e?s$/, "")) || UNIT_SET.has(w.replace(/s$/, "")),
  );
}

const unitAlternation = UNIT_WORDS.filter((u) => u.length >= 2)
  .sort((a, b) => b.length - a.length)
  .join("|");
/**
 * `<number> <unit>` at the end of an answer (unit words of 2+ letters, only after a digit and a
 * space; single-letter units such as `m` are only removed inside `\text{…}`, since `2 n` is 2n).
 */
const TRAILING_UNIT_RE = new RegExp(
  `^(.*[\\d}])\\s+(?:${unitAlternation})(?:e?s)?(?:\\^\\{?[23]\\}?)?\\.?$`,
  "i",
);

function replaceTextLike(s: string): string {
  return s.replace(
    /\\(?:mathrm|mbox|textrm|textbf|textit|textnormal|mathbf|mathit|mathsf|rm)\s*\{/g,
    "\\text{",
  );
}

/** Find `\cmd{...}` groups with balanced braces; returns [start, braceOpen, end(exclusive)]. */
function findCommandGroups(s: string, cmd: string): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  let i = 0;
  for (;;) {
    const j = s.indexOf(cmd, i);
    if (j < 0) break;
    let k = j + cmd.length;
    while (s[k] === " ") k++;
    if (s[k] !== "{") {
      i = j + cmd.length;
      continue;
    }
    let depth = 0;
    let m = k;
    for (; m < s.length; m++) {
      if (s[m] === "{") depth++;
      else if (s[m] === "}") {
        depth--;
        if (depth === 0) break;
      }
    }
    if (m >= s.length) break;
    out.push([j, k, m + 1]);
    i = m + 1;
  }
  return out;
}

/** Exact fraction for `a.b\overline{c}` repeating decimals, as `\frac{p}{q}`. */
function repeatingDecimal(intPart: string, nonRep: string, rep: string): string {
  const whole = BigInt(intPart === "" ? "0" : intPart);
  const a = BigInt(`${nonRep}${rep}` === "" ? "0" : `${nonRep}${rep}`);
  const b = BigInt(nonRep === "" ? "0" : nonRep);
  const den = (10n ** BigInt(rep.length) - 1n) * 10n ** BigInt(nonRep.length);
  const num = whole * den + (a - b);
  return `\\frac{${num}}{${den}}`;
}

/** Remove `\text{…}` wrappers, keeping their contents (for text comparison). */
export function unwrapText(s: string): string {
  let t = replaceTextLike(s);
  for (let guard = 0; guard < 20; guard++) {
    const g = findCommandGroups(t, "\\text");
    if (g.length === 0) break;
    const [a, k, e] = g[0]!;
    t = `${t.slice(0, a)}${t.slice(k + 1, e - 1)}${t.slice(e)}`;
  }
  return t;
}

/**
 * A key for comparing answers as text: `\text` unwrapped, case, spaces and `$` ignored — except a
 * space in `1, 234` (a list, where `1,234` is a thousands number).
 */
export function textKey(s: string): string {
  return (
    unwrapText(stripAnswerDelimiters(s))
      .replace(/\\[,;:! ]|~|\\quad|\\left|\\right|\$/g, "")
      .replace(/\\[dt]frac/g, "\\frac")
      // "1, 234" (a list) and "1,234" (a thousands number) stay different as text
      .replace(/(\d),\s+(?=\d{3}(?!\d))/g, "$1,_")
      .replace(/\s+/g, "")
      .replace(/\.$/, "")
      .toLowerCase()
  );
}

export interface NormalizedAnswer {
  /** The normalised LaTeX string, ready for parsing. */
  text: string;
  /** Whether a percent sign was removed. */
  percent: boolean;
  /** Whether the whole answer was a `\text{…}` (unwrapped). */
  wasText: boolean;
}

/**
 * Longest input {@link normalizeAnswer} rewrites; a longer one is returned with only its outer
 * delimiters stripped (the parser rejects it by length anyway). Every rule below is a linear pass,
 * and this cap also bounds the few anchored patterns that may backtrack.
 */
export const MAX_NORMALIZE_LENGTH = 5000;

/** Steps charged per input character by {@link normalizeAnswer} (about one per rule pass). */
export const NORMALIZE_STEPS_PER_CHAR = 60;

const SCALE: Record<string, string> = { thousand: "3", million: "6", billion: "9", trillion: "12" };

/** Period and start of the repeating tail of a digit string (`1666` → 1, 1), or null. */
function repeatingTail(f: string): { start: number; period: number } | null {
  for (let p = 1; p <= 6 && 2 * p <= f.length; p++) {
    let s = f.length - p;
    while (s > 0 && f[s - 1] === f[s - 1 + p]) s--;
    if (f.length - s >= 2 * p) return { start: s, period: p };
  }
  return null;
}

/** `0.333...`, `0.1666…`, `0.142857142857\ldots` → exact fraction; other text unchanged. */
function ellipsisDecimal(s: string): string {
  const m = /^(-?)(\d*)\.(\d{2,40})\s*(?:\.\.\.|…|\\[lc]?dots)$/.exec(s);
  if (!m) return s;
  const t = repeatingTail(m[3]!);
  if (t === null) return s;
  const nonRep = m[3]!.slice(0, t.start);
  const rep = m[3]!.slice(t.start, t.start + t.period);
  return `${m[1]}${repeatingDecimal(m[2]!, nonRep, rep)}`;
}

/** Apply the normalisation rules listed in the module comment. */
export function normalizeAnswer(input: string, counter?: StepCounter): NormalizedAnswer {
  if (input.length > MAX_NORMALIZE_LENGTH) {
    counter?.charge(4 * input.length);
    return { text: stripAnswerDelimiters(input), percent: false, wasText: false };
  }
  counter?.charge(NORMALIZE_STEPS_PER_CHAR * input.length);
  let s = ellipsisDecimal(stripAnswerDelimiters(input));
  // vulgar fractions: 1½ → 1\frac{1}{2} (a mixed number), ¾ → \frac{3}{4}
  s = s.replace(/[½⅓⅔¼¾⅕⅖⅗⅘⅙⅚⅐⅛⅜⅝⅞⅑⅒]/g, (ch) => {
    const [a, b] = (VULGAR_FRACTIONS[ch] ?? "0/1").split("/");
    return `\\frac{${a}}{${b}}`;
  });
  s = s.replace(/\u2044/g, "/");
  // a plain mixed number "1 1/2" (the whole answer) → 1\frac{1}{2}
  s = s.replace(/^(-?\d+)\s+(\d+)\/(\d+)$/, "$1\\frac{$2}{$3}");
  // a whole-answer \boxed{…}
  for (let guard = 0; guard < 3; guard++) {
    const b = findBoxed(s);
    if (b.length !== 1 || b[0]!.start !== 0 || b[0]!.end !== s.length) break;
    s = stripAnswerDelimiters(b[0]!.content);
  }
  s = s.replace(/\\displaystyle|\\textstyle/g, "");
  s = s.replace(/\\left\b|\\right\b|\\[bB]igg?[lr]?\b/g, "");
  s = s.replace(/\\[dt]frac/g, "\\frac").replace(/\\[dt]binom/g, "\\binom");
  s = s.replace(/\s*\{\s*,\s*\}\s*/g, ",");
  s = s.replace(/(\d),\\!\s*(?=\d{3})/g, "$1");
  s = s.replace(/(?<!\\)\\[!,;: ]|\\q?quad\b|~/g, " ");
  // font commands on single letters/digits are just that symbol: \mathbf{u} → u, \mathrm{r} → r
  s = s.replace(
    /\\(?:mathbf|mathit|mathsf|boldsymbol|bm|mathrm|textbf|mathnormal)\s*\{([a-zA-Z0-9])\s*\}/g,
    "$1",
  );
  s = replaceTextLike(s);
  s = s.replace(/\\operatorname\s*\{\s*([a-zA-Z]+)\s*\}/g, "\\$1");
  // degrees
  // degrees: a unit on a value (`48^\circ` → 48), but inside a trig argument a conversion
  // (`\cos(207^\circ)`: the parser reads `^\circ` as ·π/180)
  if (/\\(?:sin|cos|tan|sec|csc|cot)\b/.test(s)) {
    s = s.replace(/\^\s*\{\s*\\circ\s*\}|\^\s*\\circ\b|°|\\degree\b/g, "^\\circ ");
  } else {
    s = s.replace(/\^\s*\{\s*\\circ\s*\}|\^\s*\\circ\b|°|\\degree\b|\\circ\b/g, "");
  }
  // currency
  s = s
    .replace(/\\\$/g, "")
    // "$48$,$384$": a comma between math spans separates list items (never thousands)
    .replace(/\$\s*([,;])\s*\$/g, "$1 ")
    .replace(/\$/g, "")
    .replace(/\\(?:euro|pounds)\b/g, "");
  // percent
  let percent = false;
  let wasText = false;
  if (/\\?%\s*$/.test(s) || /\\%/.test(s)) {
    const t = s.replace(/\\%/g, "%");
    if (/^[^%]*%\s*$/.test(t)) {
      percent = true;
      s = t.replace(/%\s*$/, "");
    }
  }
  // percent words: "28 pct", "28 percent", "28\text{ percentage}", "28 per cent"
  s = s.replace(
    /(?:\\text\s*\{\s*)?\b(?:pct|percent(?:age)?|per\s?cent)\.?\s*\}?\s*$/i,
    (m: string, offset: number) => {
      if (offset === 0 || m.includes("}") !== /\\text\s*\{/.test(m)) return m;
      percent = true;
      return "";
    },
  );
  s = s.trimEnd();
  // scale words: "1.8 billion" → 1.8\times10^{9}
  s = s.replace(
    /(\d)\s*(?:\\text\s*\{\s*)?(thousand|million|billion|trillion)s?\s*\}?$/i,
    (m: string, d: string, w: string) =>
      m.includes("}") !== /\\text\s*\{/.test(m) ? m : `${d}\\times10^{${SCALE[w.toLowerCase()]}}`,
  );
  // repeating decimals 0.\overline{3}, 1.2\overline{34}
  s = s.replace(/(?<![\d.])(\d*)\.(\d*)\\overline\s*\{?(\d+)\}?/g, (_m, a: string, b: string, c: string) =>
    repeatingDecimal(a, b, c),
  );
  // \text{…}: unwrap when it is the whole answer; drop unit-like text after a value.
  s = s.trim();
  for (let guard = 0; guard < 10; guard++) {
    const groups = findCommandGroups(s, "\\text");
    if (groups.length === 0) break;
    let changed = false;
    for (let gi = groups.length - 1; gi >= 0; gi--) {
      const [a, k, e] = groups[gi]!;
      const inner = s.slice(k + 1, e - 1).trim();
      const before = s.slice(0, a).trim();
      const after = s.slice(e).trim();
      if (before === "" && after === "") {
        s = inner;
        wasText = true;
        changed = true;
        break;
      }
      // "\text{ cm}^2", "\text{ square units}", "\text{dollars}" after a value
      if (before !== "" && isUnitText(inner) && /^(?:\^\s*\{?\d\}?)?\.?$/.test(after)) {
        s = before;
        changed = true;
        break;
      }
      // "\text{or}", "\text{and}" between list items -> comma
      if (/^(?:and|or|,)$/i.test(inner)) {
        s = `${s.slice(0, a)},${s.slice(e)}`;
        changed = true;
        break;
      }
    }
    if (!changed) break;
  }
  s = s.trim();
  // "2 and 3", "x=1 or x=2" → lists
  s = s.replace(/\s+(?:and|or)\s+/g, ", ");
  // "(11,7)or(7,11)": a connector word between bracketed items
  s = s.replace(/([)\]}])\s*(?:and|or)\s*(?=[([{\\])/g, "$1, ");
  // Trailing unit words after a number: "5 cm", "12 square units", "3 dollars".
  for (let guard = 0; guard < 3; guard++) {
    const m = TRAILING_UNIT_RE.exec(s);
    if (!m) break;
    s = m[1]!.trim();
  }
  // Whole-answer thousands separators: 1,234,567 (and -1,234.5)
  // (no space after a comma, and no leading 0: "32, 349" and "0,111" are lists)
  if (/^-?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?$/.test(s)) s = s.replace(/,/g, "");
  s = s.replace(/\.(?:\.\.|…)?$/, "").trim();
  // "x \in [1,2]" -> "[1,2]"
  s = s.replace(/^[a-zA-Z]\s*\\in\s*/, "");
  return { text: s, percent, wasText };
}
