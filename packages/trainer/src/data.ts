import { basename } from "node:path";
import { SageError } from "@sage/core";
import { z } from "zod";
import { atomicWriteFile } from "./atomic.js";
import { type ChatMessage, type ChatTemplate, chatmlTemplate, renderCompletion } from "./chat-template.js";
import { describeValue, TrainerError } from "./errors.js";
import { sha256 } from "./hash.js";
import { jsonOfLine, readTextLines } from "./jsonl.js";
import { describeZodError } from "./zod-issue.js";

/** One preference pair, with conversational inputs already rendered to text. */
export interface PreferencePair {
  /** From the line's `id`, or `line:<n>` (1-based line number) when the line has none. */
  readonly id: string;
  readonly prompt: string;
  readonly chosen: string;
  readonly rejected: string;
  /** Difficulty in [0, 1] (e.g. 1 − pass rate), when known. */
  readonly difficulty?: number;
  /** Dataset level (MATH: 1–5), when known. */
  readonly level?: number;
  /** Precomputed reference log-probs ℓref(y_w|x), ℓref(y_l|x) (sums over response tokens, ≤ 0). */
  readonly refChosenLogps?: number;
  readonly refRejectedLogps?: number;
}

/** A line that failed validation: where, which field, and why. */
export interface InvalidLine {
  readonly file: string;
  readonly line: number;
  /** Dotted path of the offending field (`chosen.0.role`), or `(line)` for the whole line. */
  readonly field: string;
  readonly message: string;
}

export interface ReadPairsOptions {
  /** Renders conversational (message-list) examples. Default {@link chatmlTemplate}. */
  readonly template?: ChatTemplate;
  /** Skip invalid lines instead of throwing on the first one. Every skipped line is still reported. */
  readonly skipInvalid?: boolean;
  /** Called for each invalid line when `skipInvalid` is set. */
  readonly onInvalid?: (issue: InvalidLine) => void;
}

const messageSchema = z.object({
  role: z.enum(["system", "user", "assistant"]),
  content: z.string(),
});
const textOrMessages = z.union([z.string(), z.array(messageSchema).min(1)]);
const optionalNumber = (schema: z.ZodNumber) =>
  schema
    .nullable()
    .optional()
    .transform((v) => v ?? undefined);
const levelSchema = z
  .union([z.number().int().min(0), z.string().regex(/^(Level )?\d+$/, 'expected an integer or "Level <n>"')])
  .nullable()
  .optional()
  .transform((v) =>
    v === null || v === undefined ? undefined : typeof v === "number" ? v : Number(v.replace("Level ", "")),
  );

/** Zod schema of one JSONL line (TRL preference formats). */
export const preferenceLineSchema = z.object({
  id: z.union([z.string().min(1), z.number().int()]).optional(),
  prompt: textOrMessages.optional(),
  chosen: textOrMessages,
  rejected: textOrMessages,
  difficulty: optionalNumber(z.number().min(0).max(1)),
  level: levelSchema,
  ref_chosen_logps: optionalNumber(z.number().max(0)),
  ref_rejected_logps: optionalNumber(z.number().max(0)),
});

type Line = z.infer<typeof preferenceLineSchema>;

/** One line's field that does not fit (turned into a `DATA_INVALID` `TrainerError` naming file and line). */
class LineError extends SageError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super("DATA_INVALID", message);
    this.name = "LineError";
  }
}

function sameMessage(a: ChatMessage, b: ChatMessage): boolean {
  return a.role === b.role && a.content === b.content;
}

function renderLine(
  line: Line,
  template: ChatTemplate,
): { prompt: string; chosen: string; rejected: string } {
  const { prompt, chosen, rejected } = line;
  if (typeof chosen === "string" || typeof rejected === "string") {
    if (typeof chosen !== "string") throw new LineError("chosen", "expected a string, like `rejected`");
    if (typeof rejected !== "string") throw new LineError("rejected", "expected a string, like `chosen`");
    if (prompt === undefined) throw new LineError("prompt", "required when chosen/rejected are strings");
    if (typeof prompt !== "string") throw new LineError("prompt", "expected a string, like chosen/rejected");
    return { prompt, chosen, rejected };
  }
  let promptMessages: readonly ChatMessage[];
  let chosenMessages: readonly ChatMessage[] = chosen;
  let rejectedMessages: readonly ChatMessage[] = rejected;
  if (prompt === undefined) {
    // TRL "implicit prompt": the shared leading messages are the prompt.
    let n = 0;
    while (n < chosen.length && n < rejected.length && sameMessage(chosen[n]!, rejected[n]!)) n++;
    if (n === 0) throw new LineError("prompt", "missing, and chosen/rejected share no leading messages");
    promptMessages = chosen.slice(0, n);
    chosenMessages = chosen.slice(n);
    rejectedMessages = rejected.slice(n);
    if (chosenMessages.length === 0) throw new LineError("chosen", "has no messages after the shared prompt");
    if (rejectedMessages.length === 0)
      throw new LineError("rejected", "has no messages after the shared prompt");
  } else if (typeof prompt === "string") {
    throw new LineError("prompt", "expected a list of messages, like chosen/rejected");
  } else {
    promptMessages = prompt;
  }
  for (const [field, msgs] of [
    ["chosen", chosenMessages],
    ["rejected", rejectedMessages],
  ] as const) {
    if (msgs[0]?.role !== "assistant") {
      throw new LineError(
        field,
        `expected the completion to start with an assistant message; received role ${describeValue(msgs[0]?.role)}`,
      );
    }
  }
  const c = renderCompletion(template, promptMessages, chosenMessages);
  const r = renderCompletion(template, promptMessages, rejectedMessages);
  return { prompt: c.prompt, chosen: c.completion, rejected: r.completion };
}

/**
 * Validate and render one JSONL line. Throws `DATA_INVALID` naming file, line and field.
 * `lineNumber` is 1-based.
 */
export function parsePreferenceLine(
  text: string,
  where: { readonly file: string; readonly line: number },
  template: ChatTemplate = chatmlTemplate,
): PreferencePair {
  const fail = (field: string, message: string): never => {
    throw new TrainerError("DATA_INVALID", `${where.file}:${where.line}: field "${field}": ${message}`);
  };
  const raw = jsonOfLine(text, where.file, where.line);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return fail("(line)", `expected a JSON object; received ${describeValue(raw)}`);
  }
  const parsed = preferenceLineSchema.safeParse(raw);
  if (!parsed.success) {
    const { text } = describeZodError(parsed.error, raw);
    throw new TrainerError(
      "DATA_INVALID",
      `${where.file}:${where.line}: ${text.replace('field "(root)"', 'field "(line)"')}`,
    );
  }
  const line = parsed.data;
  let rendered: { prompt: string; chosen: string; rejected: string };
  try {
    rendered = renderLine(line, template);
  } catch (error) {
    if (error instanceof LineError) return fail(error.field, error.message);
    if (error instanceof TrainerError) return fail("(template)", error.message);
    throw error;
  }
  const hasRc = line.ref_chosen_logps !== undefined;
  const hasRr = line.ref_rejected_logps !== undefined;
  if (hasRc !== hasRr) {
    fail(
      hasRc ? "ref_rejected_logps" : "ref_chosen_logps",
      "required when the other reference log-prob is given",
    );
  }
  return {
    id: line.id === undefined ? `line:${where.line}` : String(line.id),
    ...rendered,
    ...(line.difficulty !== undefined ? { difficulty: line.difficulty } : {}),
    ...(line.level !== undefined ? { level: line.level } : {}),
    ...(line.ref_chosen_logps !== undefined ? { refChosenLogps: line.ref_chosen_logps } : {}),
    ...(line.ref_rejected_logps !== undefined ? { refRejectedLogps: line.ref_rejected_logps } : {}),
  };
}

function invalidFrom(error: TrainerError, file: string, line: number): InvalidLine {
  const m = /: field "([^"]*)": /.exec(error.message);
  return { file, line, field: m?.[1] ?? "(line)", message: error.message };
}

/**
 * Stream validated pairs from a JSONL file (strict UTF-8; blank lines are ignored). Throws
 * `DATA_INVALID` on the first bad line (a byte that is not UTF-8 is always fatal, even with
 * `skipInvalid`: the file is in the wrong encoding, not one line wrong), or with `skipInvalid` reports it to `onInvalid` and goes on. Duplicate ids
 * are invalid lines too (`DATA_ID_DUPLICATE`).
 */
export async function* streamPreferencePairs(
  path: string,
  options: ReadPairsOptions = {},
): AsyncGenerator<PreferencePair> {
  const file = basename(path);
  const template = options.template ?? chatmlTemplate;
  const seen = new Set<string>();
  for await (const { line: n, text } of readTextLines(path)) {
    if (text.trim() === "") continue;
    let pair: PreferencePair;
    try {
      pair = parsePreferenceLine(text, { file, line: n }, template);
      if (seen.has(pair.id)) {
        throw new TrainerError(
          "DATA_ID_DUPLICATE",
          `${file}:${n}: field "id": expected ids to be unique; received ${describeValue(pair.id)} again`,
        );
      }
    } catch (error) {
      if (!(error instanceof TrainerError) || !options.skipInvalid) throw error;
      options.onInvalid?.(invalidFrom(error, file, n));
      continue;
    }
    seen.add(pair.id);
    yield pair;
  }
}

/** Result of {@link readPreferencePairs}. `skipped === invalid.length`. */
export interface ReadPairsResult {
  readonly pairs: PreferencePair[];
  readonly invalid: InvalidLine[];
  readonly skipped: number;
}

/** Read a whole JSONL file of pairs. With `skipInvalid`, bad lines are collected in `invalid`. */
export async function readPreferencePairs(
  path: string,
  options: ReadPairsOptions = {},
): Promise<ReadPairsResult> {
  const invalid: InvalidLine[] = [];
  const pairs: PreferencePair[] = [];
  for await (const pair of streamPreferencePairs(path, {
    ...options,
    onInvalid: (issue) => {
      invalid.push(issue);
      options.onInvalid?.(issue);
    },
  })) {
    pairs.push(pair);
  }
  return { pairs, invalid, skipped: invalid.length };
}

/** The JSONL object written for a pair (TRL standard format, snake_case fields). */
export function pairToJson(pair: PreferencePair): Record<string, unknown> {
  return {
    id: pair.id,
    prompt: pair.prompt,
    chosen: pair.chosen,
    rejected: pair.rejected,
    ...(pair.difficulty !== undefined ? { difficulty: pair.difficulty } : {}),
    ...(pair.level !== undefined ? { level: pair.level } : {}),
    ...(pair.refChosenLogps !== undefined ? { ref_chosen_logps: pair.refChosenLogps } : {}),
    ...(pair.refRejectedLogps !== undefined ? { ref_rejected_logps: pair.refRejectedLogps } : {}),
  };
}

/** Write pairs as JSONL atomically (temp file + fsync + rename). */
export async function writePreferencePairs(path: string, pairs: Iterable<PreferencePair>): Promise<void> {
  let text = "";
  for (const pair of pairs) text += `${JSON.stringify(pairToJson(pair))}\n`;
  await atomicWriteFile(path, text);
}

/**
 * Content hash of a dataset for the reference-log-prob cache key: SHA-256 over
 * `[id, prompt, chosen, rejected]` of each pair, in order. Difficulty, level and precomputed
 * log-probs do not change what a reference model computes, so they are left out; formatting of
 * the source file (key order, whitespace, conversational vs rendered) does not matter either.
 */
export function preferenceDataHash(pairs: Iterable<PreferencePair>): string {
  let text = "";
  for (const p of pairs) text += `${JSON.stringify([p.id, p.prompt, p.chosen, p.rejected])}\n`;
  if (text === "")
    throw new TrainerError("DATA_EMPTY", "cannot hash an empty dataset; expected at least one pair");
  return sha256(text);
}
