/**
 * Final-answer extraction from model text.
 *
 * Methods (tried in `order`, first hit wins):
 * - `boxed`: the last `\boxed{…}` / `\fbox{…}` / `\framebox{…}` (nested braces balanced), or the
 *   brace-less form `\boxed 5`.
 * - `final-answer`: Minerva style "Final Answer: The final answer is X. I hope it is correct."
 * - `gsm8k`: the last `#### X` line.
 * - `answer-is`: the last "the answer is X" / "answer: X" sentence.
 * - `last-number`: the last number in the text (integers, decimals, `a/b`, thousands separators).
 */

/** Extraction method names. */
export type ExtractionMethod = "boxed" | "final-answer" | "gsm8k" | "answer-is" | "last-number";

/** Default order: the most explicit markers first, the last-number fallback last. */
export const DEFAULT_EXTRACTION_ORDER: readonly ExtractionMethod[] = [
  "boxed",
  "final-answer",
  "gsm8k",
  "answer-is",
  "last-number",
];

export interface ExtractOptions {
  /** Methods to try, in order. Default {@link DEFAULT_EXTRACTION_ORDER}. */
  order?: readonly ExtractionMethod[];
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

const BOX_COMMANDS = ["\\boxed", "\\fbox", "\\framebox"];

/** Every `\boxed{…}`-like span in `text`, in order of appearance (unterminated ones are skipped). */
export function findBoxed(text: string): BoxedSpan[] {
  const out: BoxedSpan[] = [];
  let i = 0;
  while (i < text.length) {
    let best = -1;
    let cmd = "";
    for (const c of BOX_COMMANDS) {
      const j = text.indexOf(c, i);
      if (j >= 0 && (best < 0 || j < best)) {
        best = j;
        cmd = c;
      }
    }
    if (best < 0) break;
    let k = best + cmd.length;
    // \boxed must not be a prefix of a longer command name (e.g. \boxedfoo)
    if (/[a-zA-Z]/.test(text[k] ?? "")) {
      i = k;
      continue;
    }
    // \framebox[width]{…}
    if (cmd === "\\framebox" && text[k] === "[") {
      const close = text.indexOf("]", k);
      if (close > 0) k = close + 1;
    }
    while (text[k] === " " || text[k] === "\t") k++;
    if (text[k] === "{") {
      let depth = 0;
      let m = k;
      for (; m < text.length; m++) {
        const ch = text[m];
        if (ch === "\\") {
          m++;
          continue;
        }
        if (ch === "{") depth++;
        else if (ch === "}") {
          depth--;
          if (depth === 0) break;
        }
      }
      if (depth === 0 && m < text.length) {
        out.push({ content: text.slice(k + 1, m), start: best, end: m + 1 });
        i = m + 1;
        continue;
      }
      i = k + 1;
      continue;
    }
    if (k > best + cmd.length) {
      // `\boxed 5` form: a run of non-space characters up to `$`, whitespace or end.
      const mm = /^[^\s$]+/.exec(text.slice(k));
      if (mm) {
        out.push({ content: mm[0].replace(/[.,;]$/, ""), start: best, end: k + mm[0].length });
        i = k + mm[0].length;
        continue;
      }
    }
    i = k;
  }
  return out;
}

/** Strip outer math delimiters and a trailing sentence period. */
export function stripAnswerDelimiters(s: string): string {
  let t = s.trim();
  for (let guard = 0; guard < 4; guard++) {
    const before = t;
    t = t.replace(/^(?:[:;,\s]|\.(?!\d))+/, "").replace(/[\s.;,]+$/, "");
    if (t.startsWith("$$") && t.endsWith("$$") && t.length >= 4) t = t.slice(2, -2).trim();
    else if (t.startsWith("$") && t.endsWith("$") && t.length >= 2) t = t.slice(1, -1).trim();
    else if (t.startsWith("\\(") && t.endsWith("\\)")) t = t.slice(2, -2).trim();
    else if (t.startsWith("\\[") && t.endsWith("\\]")) t = t.slice(2, -2).trim();
    if (t === before) break;
  }
  return t;
}

function lastMatch(re: RegExp, text: string): RegExpExecArray | null {
  let last: RegExpExecArray | null = null;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    last = m;
    if (m[0].length === 0) re.lastIndex++;
  }
  return last;
}

/** Take a math span from the start of a sentence fragment: `$…$`, `\(…\)`, or up to the sentence end. */
function takeSentenceAnswer(rest: string): string {
  const r = rest.trim();
  const boxed = findBoxed(r);
  if (boxed.length > 0 && boxed[0]!.start < 3) return boxed[0]!.content;
  for (const [open, close] of [
    ["$$", "$$"],
    ["$", "$"],
    ["\\(", "\\)"],
    ["\\[", "\\]"],
  ] as const) {
    if (r.startsWith(open)) {
      const j = r.indexOf(close, open.length);
      if (j > 0) return r.slice(open.length, j);
    }
  }
  // Up to a sentence end: ". " / ".\n" / end of line.
  const line = r.split("\n")[0] ?? "";
  const m = /^(.*?)(?:\.\s|\.$|$)/.exec(line);
  return (m?.[1] ?? line).trim();
}

const NUMBER_RE = /-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\/\d+)?|-?\.\d+/g;

function extractWith(method: ExtractionMethod, text: string): string | null {
  switch (method) {
    case "boxed": {
      const b = findBoxed(text);
      return b.length > 0 ? b[b.length - 1]!.content : null;
    }
    case "final-answer": {
      const m = lastMatch(
        /Final Answer:\s*The final answer is\s*([\s\S]*?)\.?\s*I hope it is correct/gi,
        text,
      );
      return m ? (m[1] ?? null) : null;
    }
    case "gsm8k": {
      const m = lastMatch(/####\s*([^\n]+)/g, text);
      return m ? (m[1] ?? null) : null;
    }
    case "answer-is": {
      const m = lastMatch(/answer\s*(?:is|:)\s*:?/gi, text);
      if (!m) return null;
      const ans = takeSentenceAnswer(text.slice(m.index + m[0].length));
      return ans.length > 0 ? ans : null;
    }
    case "last-number": {
      const m = lastMatch(new RegExp(NUMBER_RE.source, "g"), text);
      return m ? m[0].replace(/,/g, "") : null;
    }
  }
}

/**
 * Extract the final answer from model output. Returns `null` when no method finds one.
 */
export function extractAnswer(text: string, opts: ExtractOptions = {}): ExtractedAnswer | null {
  const order = opts.order ?? DEFAULT_EXTRACTION_ORDER;
  for (const method of order) {
    const raw = extractWith(method, text);
    if (raw === null) continue;
    const answer = stripAnswerDelimiters(raw);
    if (answer.length > 0) return { answer, method };
  }
  return null;
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
      const b = findBoxed(text);
      for (let i = b.length - 1; i >= 0; i--) push(b[i]!.content, "boxed");
    } else {
      const raw = extractWith(method, text);
      if (raw !== null) push(raw, method);
    }
  }
  return out;
}

/**
 * The boxed answers that share the final line (paragraph) with the last box, in order — e.g.
 * "the roots are \boxed{2} and \boxed{3}" gives ["2", "3"]. Empty when there is no box.
 */
export function lastLineBoxed(text: string): string[] {
  const b = findBoxed(text);
  if (b.length === 0) return [];
  const last = b[b.length - 1]!;
  const lineStart = text.lastIndexOf("\n\n", last.start);
  return b.filter((x) => x.start > lineStart).map((x) => stripAnswerDelimiters(x.content));
}
