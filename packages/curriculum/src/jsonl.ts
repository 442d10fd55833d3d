import { describeValue, JsonlError, parseJsonl } from "@sage/core";
import { CurriculumError } from "./errors.js";
import type { DatasetPair, ScoringPlan, SelectPairsResult } from "./standalone.js";

/** JSONL field → `DatasetPair` field, for the numeric fields. */
const NUMBER_FIELDS = {
  policy_chosen_logp: "policyChosen",
  policy_rejected_logp: "policyRejected",
  reference_chosen_logp: "referenceChosen",
  reference_rejected_logp: "referenceRejected",
  chosen_tokens: "chosenTokens",
  rejected_tokens: "rejectedTokens",
  pass_rate: "passRate",
  level: "level",
} as const;

/** `DatasetPair` field → the JSONL field it is read from (for messages in the file's own words). */
export const JSONL_FIELD_OF: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(Object.entries(NUMBER_FIELDS).map(([jsonl, ours]) => [ours, jsonl])),
);

/** The 1-based line each pair read by `readStatsJsonl` / `readPairsJsonl` came from. */
const SOURCE_LINE = new WeakMap<object, number>();

/** The line of the file `pair` was read from, when it was read by this module. */
export function sourceLineOf(pair: object): number | undefined {
  return SOURCE_LINE.get(pair);
}

/** The statistics a scored pair needs, as the JSONL names them. */
const SCORE_FIELDS = [
  "policy_chosen_logp",
  "policy_rejected_logp",
  "reference_chosen_logp",
  "reference_rejected_logp",
  "chosen_tokens",
  "rejected_tokens",
] as const;

/** A line that has some of a scored pair's statistics must have all of them. */
function checkComplete(o: Record<string, unknown>, lineNo: number): void {
  const present = SCORE_FIELDS.filter((f) => o[f] !== undefined && o[f] !== null);
  if (present.length === 0 || present.length === SCORE_FIELDS.length) return;
  const missing = SCORE_FIELDS.filter((f) => !present.includes(f));
  fail(
    lineNo,
    `field "${missing[0]}": a pair with statistics needs all of ${SCORE_FIELDS.join(", ")}; ` +
      `received ${present.join(", ")} without ${missing.join(", ")}`,
  );
}

function fail(line: number, msg: string): never {
  throw new CurriculumError("JSONL_INVALID", `line ${line}: ${msg}`);
}

/**
 * `parseJsonl` of `text` (blank lines skipped), each value through `map`; a line that is not JSON
 * is a `JSONL_INVALID` error naming its 1-based line.
 */
function eachLine<T>(text: string, map: (value: unknown, lineNo: number) => T): T[] {
  try {
    return parseJsonl(text, { source: "line", map });
  } catch (error) {
    if (error instanceof JsonlError) {
      fail(error.line, `invalid JSON: expected ${error.expected}, received ${error.received}`);
    }
    throw error;
  }
}

function asObject(obj: unknown, lineNo: number): Record<string, unknown> {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    fail(lineNo, `expected a JSON object, received ${describeValue(obj)}`);
  }
  return obj as Record<string, unknown>;
}

/** The numeric statistics and difficulty fields of a line (shared by stats and pairs files). */
function parseNumbers(o: Record<string, unknown>, lineNo: number, pair: Record<string, unknown>): void {
  for (const [field, key] of Object.entries(NUMBER_FIELDS)) {
    const v = o[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      fail(lineNo, `field "${field}": expected a finite number, received ${describeValue(v)}`);
    }
    if ((field === "chosen_tokens" || field === "rejected_tokens") && !(Number.isInteger(v) && v >= 1)) {
      fail(lineNo, `field "${field}": expected an integer ≥ 1, received ${describeValue(v)}`);
    }
    if (field === "pass_rate" && !(v >= 0 && v <= 1))
      fail(lineNo, `field "pass_rate": expected a number in [0, 1], received ${v}`);
    pair[key] = v;
  }
  const pm = o.perturbed_margins;
  if (pm !== undefined && pm !== null) {
    if (!Array.isArray(pm) || pm.length === 0) {
      fail(
        lineNo,
        `field "perturbed_margins": expected a non-empty array of numbers, received ${describeValue(pm)}`,
      );
    }
    pm.forEach((v, j) => {
      if (typeof v !== "number" || !Number.isFinite(v)) {
        fail(
          lineNo,
          `field "perturbed_margins[${j}]": expected a finite number, received ${describeValue(v)}`,
        );
      }
    });
    pair.perturbed = pm as number[];
  }
}

function parseId(o: Record<string, unknown>, lineNo: number, hint: string): string | undefined {
  const id = o.id;
  if (id === undefined || id === null) return undefined;
  if (!(typeof id === "string" && id.length > 0) && !(typeof id === "number" && Number.isSafeInteger(id))) {
    fail(
      lineNo,
      `field "id": expected a non-empty string or an integer, received ${describeValue(id)}${hint}`,
    );
  }
  return String(id);
}

function claimId(seen: Map<string, number>, id: string, lineNo: number): void {
  const prev = seen.get(id);
  if (prev !== undefined) fail(lineNo, `field "id": ${JSON.stringify(id)} already appeared on line ${prev}`);
  seen.set(id, lineNo);
}

/**
 * Parse pair statistics, one JSON object per line (blank lines skipped, unknown fields ignored):
 * `id` (string or integer, required, unique), `policy_chosen_logp`, `policy_rejected_logp`,
 * `reference_chosen_logp`, `reference_rejected_logp` (sequence log-prob sums), `chosen_tokens`,
 * `rejected_tokens` (integers ≥ 1), `perturbed_margins` (array of K numbers), `pass_rate` ([0, 1]),
 * `level`. Every error names its 1-based line.
 */
export function readStatsJsonl(text: string): DatasetPair[] {
  const seen = new Map<string, number>();
  return eachLine(text, (value, lineNo) => {
    const o = asObject(value, lineNo);
    const looksTrl = o.chosen !== undefined && o.rejected !== undefined;
    const hint = looksTrl
      ? " (this line holds prompt/chosen/rejected: a TRL pairs file goes to `sage select --pairs` / readPairsJsonl, which gives id-less rows the id line:<n>)"
      : "";
    const id = parseId(o, lineNo, hint);
    if (id === undefined) {
      fail(lineNo, `field "id": expected a non-empty string or an integer, received undefined${hint}`);
    }
    claimId(seen, id, lineNo);
    const pair: Record<string, unknown> = { id };
    parseNumbers(o, lineNo, pair);
    checkComplete(o, lineNo);
    SOURCE_LINE.set(pair, lineNo);
    return pair as unknown as DatasetPair;
  });
}

/** The text of one preference pair, kept exactly as the file has it (TRL's standard or conversational format). */
export interface PairRow {
  readonly id: string;
  /** 1-based line of the pair in its file. */
  readonly line: number;
  /** Absent for TRL's "implicit prompt" format. */
  readonly prompt?: unknown;
  readonly chosen: unknown;
  readonly rejected: unknown;
}

/** A TRL pairs file: selection inputs and the text rows, aligned by index. */
export interface PairsFile {
  readonly pairs: DatasetPair[];
  readonly rows: PairRow[];
}

function isText(v: unknown): boolean {
  return (typeof v === "string" && v.length > 0) || (Array.isArray(v) && v.length > 0);
}

const LEVEL = /^(Level )?(\d+)$/;

/**
 * Parse a preference file in TRL's format (one JSON object per line, blank lines skipped, unknown
 * fields ignored): `prompt` (optional: TRL's implicit-prompt form), `chosen`, `rejected` (strings or
 * message lists, kept as they are), and optionally `id` (string or integer; a line without one gets
 * `line:<n>`, n its 1-based line number — the same rule as `sage train`), `difficulty` ([0, 1],
 * used as pass rate `1 − difficulty`), `pass_rate`, `level` (number or `"Level n"`), the reference
 * log-probs `ref_chosen_logps` / `ref_rejected_logps` (TRL's precomputed columns; or
 * `reference_chosen_logp` / `reference_rejected_logp`), and any field of `readStatsJsonl`.
 */
export function readPairsJsonl(text: string): PairsFile {
  const pairs: DatasetPair[] = [];
  const rows: PairRow[] = [];
  const seen = new Map<string, number>();
  eachLine(text, (value, lineNo) => {
    const o = asObject(value, lineNo);
    const id = parseId(o, lineNo, "") ?? `line:${lineNo}`;
    claimId(seen, id, lineNo);
    for (const f of ["chosen", "rejected"] as const) {
      if (!isText(o[f])) {
        fail(
          lineNo,
          `field "${f}": expected a non-empty string or message list (TRL format), received ${describeValue(o[f])}`,
        );
      }
    }
    if (o.prompt !== undefined && o.prompt !== null && !isText(o.prompt)) {
      fail(
        lineNo,
        `field "prompt": expected a non-empty string or message list, received ${describeValue(o.prompt)}`,
      );
    }
    const numbers: Record<string, unknown> = { ...o };
    for (const [trl, ours] of [
      ["ref_chosen_logps", "reference_chosen_logp"],
      ["ref_rejected_logps", "reference_rejected_logp"],
    ] as const) {
      if (o[trl] !== undefined && o[trl] !== null) {
        if (o[ours] !== undefined && o[ours] !== null)
          fail(lineNo, `fields "${trl}" and "${ours}": expected one of them, received both`);
        numbers[ours] = o[trl];
      }
    }
    if (typeof o.level === "string") {
      const m = LEVEL.exec(o.level);
      if (m === null)
        fail(lineNo, `field "level": expected a number or "Level <n>", received ${describeValue(o.level)}`);
      numbers.level = Number(m[2]);
    }
    const pair: Record<string, unknown> = { id };
    parseNumbers(numbers, lineNo, pair);
    SOURCE_LINE.set(pair, lineNo);
    if ((pair.referenceChosen === undefined) !== (pair.referenceRejected === undefined)) {
      fail(lineNo, "reference log-probs: expected both (chosen and rejected) or neither, received one");
    }
    const d = o.difficulty;
    if (d !== undefined && d !== null) {
      if (typeof d !== "number" || !(d >= 0 && d <= 1))
        fail(lineNo, `field "difficulty": expected a number in [0, 1], received ${describeValue(d)}`);
      if (pair.passRate === undefined) pair.passRate = 1 - d;
    }
    pairs.push(pair as unknown as DatasetPair);
    const row: Record<string, unknown> = { id, line: lineNo };
    if (o.prompt !== undefined && o.prompt !== null) row.prompt = o.prompt;
    row.chosen = o.chosen;
    row.rejected = o.rejected;
    rows.push(row as unknown as PairRow);
  });
  return { pairs, rows };
}

/**
 * Training rows in TRL's format, one line per selected pair in training order:
 * `{"prompt", "chosen", "rejected", "id", "step"}` (prompt omitted for implicit-prompt pairs), ready
 * for `datasets.load_dataset("json", data_files=…)`.
 */
export function writePairRowsJsonl(
  result: Pick<SelectPairsResult, "startStep" | "batches">,
  rows: readonly PairRow[],
): string {
  const byId = new Map(rows.map((r) => [r.id, r]));
  let out = "";
  result.batches.forEach((ids, j) => {
    for (const id of ids) {
      const r = byId.get(id);
      if (r === undefined)
        throw new CurriculumError("DATA_INVALID", `pair ${JSON.stringify(id)}: no text row for it`);
      const o: Record<string, unknown> = {};
      if (r.prompt !== undefined) o.prompt = r.prompt;
      o.chosen = r.chosen;
      o.rejected = r.rejected;
      o.id = id;
      o.step = result.startStep + j;
      out += `${JSON.stringify(o)}\n`;
    }
  });
  return out;
}

/**
 * The pairs to score, one line each: `{"id", "pair_key", "kind", "refresh", "step",
 * "error_margin", "perturbation"}` plus the pair's `prompt`/`chosen`/`rejected` when `rows` are
 * given. `pair_key` is the pair's token-dropout key; `perturbation` is `{kind, k, rho, seed}` or null.
 */
export function writePlanJsonl(plan: ScoringPlan | null, rows?: readonly PairRow[]): string {
  if (plan === null) return "";
  const byId = rows ? new Map(rows.map((r) => [r.id, r])) : null;
  return plan.ids
    .map((id, j) => {
      const o: Record<string, unknown> = {
        id,
        pair_key: plan.pairKeys[j],
        kind: plan.kind,
        refresh: plan.refresh,
        step: plan.step,
        error_margin: plan.errorMargin,
        perturbation: plan.perturbation,
      };
      const r = byId?.get(id);
      if (r !== undefined) {
        if (r.prompt !== undefined) o.prompt = r.prompt;
        o.chosen = r.chosen;
        o.rejected = r.rejected;
      }
      return `${JSON.stringify(o)}\n`;
    })
    .join("");
}

/** Serialise `DatasetPair`s to the JSONL form `readStatsJsonl` reads. */
export function writeStatsJsonl(pairs: readonly DatasetPair[]): string {
  return pairs
    .map((p) => {
      const o: Record<string, unknown> = { id: p.id };
      for (const [field, key] of Object.entries(NUMBER_FIELDS)) {
        const v = (p as unknown as Record<string, unknown>)[key];
        if (v !== undefined) o[field] = v;
      }
      if (p.perturbed !== undefined) o.perturbed_margins = p.perturbed;
      return `${JSON.stringify(o)}\n`;
    })
    .join("");
}

/** One line per step: `{"step": s, "ids": ["…", …]}`. */
export function writeSelectionJsonl(result: Pick<SelectPairsResult, "startStep" | "batches">): string {
  return result.batches.map((ids, j) => `${JSON.stringify({ step: result.startStep + j, ids })}\n`).join("");
}

/** Parse the output of `writeSelectionJsonl` (line-numbered errors). */
export function readSelectionJsonl(text: string): { step: number; ids: string[] }[] {
  return eachLine(text, (o, lineNo) => {
    const r = o as { step?: unknown; ids?: unknown };
    if (!Number.isInteger(r?.step) || !Array.isArray(r.ids) || !r.ids.every((x) => typeof x === "string")) {
      fail(lineNo, `expected {"step": integer, "ids": string[]}, received ${describeValue(o)}`);
    }
    return { step: r.step as number, ids: r.ids as string[] };
  });
}
