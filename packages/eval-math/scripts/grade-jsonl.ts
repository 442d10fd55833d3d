/**
 * Grade an existing JSONL file of model responses.
 *
 *   npx tsx packages/eval-math/scripts/grade-jsonl.ts responses.jsonl [--out graded.jsonl]
 *
 * Each line needs a response (`response`, `responses`, `output` or `completion`; a string or an
 * array of strings) and a reference answer (`reference`, `answer` or `gt`); override with
 * --response-field / --reference-field. Writes one graded record per response (atomically) when
 * --out is given and prints the summary (pass@1, pass@k, maj@k, by subject/level) as JSON.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { gradeResponse, type SampleRecord, summarize, toJsonl, writeFileAtomic } from "../src/index.js";

const USAGE =
  "usage: grade-jsonl <input.jsonl> [--out graded.jsonl] [--response-field f] [--reference-field f] [--rel-tol 1e-6] [--percent-leniency] [--ordered-lists]";
const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: "string" },
    "response-field": { type: "string" },
    "reference-field": { type: "string" },
    "rel-tol": { type: "string", default: "1e-6" },
    "percent-leniency": { type: "boolean", default: false },
    "ordered-lists": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (opts.help || positionals.length !== 1) {
  console.error(USAGE);
  process.exit(opts.help ? 0 : 2);
}
const input = positionals[0]!;

function pick(
  row: Record<string, unknown>,
  explicit: string | undefined,
  candidates: string[],
  what: string,
  line: number,
): unknown {
  const names = explicit !== undefined ? [explicit] : candidates;
  for (const n of names) if (row[n] !== undefined) return row[n];
  throw new Error(`${input}:${line}: no ${what} field (looked for ${names.join(", ")})`);
}

const relTol = Number(opts["rel-tol"]);
if (!Number.isFinite(relTol) || relTol < 0)
  throw new Error(`--rel-tol must be a non-negative number, received ${opts["rel-tol"]}`);
const gradeOpts = {
  relTol,
  percentLeniency: opts["percent-leniency"],
  unorderedLists: !opts["ordered-lists"],
};
const records: SampleRecord[] = [];
const lines = readFileSync(input, "utf8").split("\n");
lines.forEach((text, i) => {
  if (text.trim() === "") return;
  const row = JSON.parse(text) as Record<string, unknown>;
  const resp = pick(
    row,
    opts["response-field"],
    ["response", "responses", "output", "completion"],
    "response",
    i + 1,
  );
  const ref = String(pick(row, opts["reference-field"], ["reference", "answer", "gt"], "reference", i + 1));
  const responses = Array.isArray(resp) ? resp.map(String) : [String(resp)];
  const id = String(row.id ?? row.idx ?? row.unique_id ?? i + 1);
  responses.forEach((response, s) => {
    const g = gradeResponse(response, ref, gradeOpts);
    const rec: SampleRecord = {
      id,
      benchmark: String(row.benchmark ?? "jsonl"),
      sample: s,
      prompt: String(row.prompt ?? row.question ?? ""),
      response,
      reference: ref,
      extracted: g.extracted,
      method: g.method,
      verdict: g.verdict,
      correct: g.correct,
      reason: g.reason,
    };
    const subject = row.subject ?? row.type ?? row.subfield;
    if (typeof subject === "string") rec.subject = subject;
    const level =
      typeof row.level === "number" ? row.level : Number(String(row.level ?? "").replace(/\D/g, ""));
    if (Number.isInteger(level) && level > 0) rec.level = level;
    records.push(rec);
  });
});
if (opts.out !== undefined) writeFileAtomic(opts.out, toJsonl(records));
const summary = summarize(records, 0, gradeOpts);
console.log(JSON.stringify({ input, responses: records.length, ...summary }, null, 2));
