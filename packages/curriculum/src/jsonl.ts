import { describeValue } from "@sage/stability";
import { CurriculumError } from "./errors.js";
import type { DatasetPair, SelectPairsResult } from "./standalone.js";

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

function fail(line: number, msg: string): never {
  throw new CurriculumError("JSONL", `line ${line}: ${msg}`);
}

/**
 * Parse pair statistics, one JSON object per line (blank lines skipped, unknown fields ignored):
 * `id` (string or integer, required, unique), `policy_chosen_logp`, `policy_rejected_logp`,
 * `reference_chosen_logp`, `reference_rejected_logp` (sequence log-prob sums), `chosen_tokens`,
 * `rejected_tokens` (integers ≥ 1), `perturbed_margins` (array of K numbers), `pass_rate` ([0, 1]),
 * `level`. Every error names its 1-based line.
 */
export function readStatsJsonl(text: string): DatasetPair[] {
  const out: DatasetPair[] = [];
  const seen = new Map<string, number>();
  const lines = text.split(/\r?\n/);
  for (let li = 0; li < lines.length; li++) {
    const lineNo = li + 1;
    const raw = lines[li]!.trim();
    if (raw === "") continue;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (e) {
      fail(lineNo, `invalid JSON (${(e as Error).message}), received ${describeValue(raw)}`);
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
      fail(lineNo, `expected a JSON object, received ${describeValue(obj)}`);
    }
    const o = obj as Record<string, unknown>;
    const id = o.id;
    if (!(typeof id === "string" && id.length > 0) && !(typeof id === "number" && Number.isSafeInteger(id))) {
      fail(lineNo, `field "id": expected a non-empty string or an integer, received ${describeValue(id)}`);
    }
    const sid = String(id);
    const prev = seen.get(sid);
    if (prev !== undefined)
      fail(lineNo, `field "id": ${JSON.stringify(sid)} already appeared on line ${prev}`);
    seen.set(sid, lineNo);
    const pair: Record<string, unknown> = { id: sid };
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
    out.push(pair as unknown as DatasetPair);
  }
  return out;
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
  const out: { step: number; ids: string[] }[] = [];
  text.split(/\r?\n/).forEach((line, li) => {
    if (line.trim() === "") return;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch (e) {
      fail(li + 1, `invalid JSON (${(e as Error).message})`);
    }
    const r = o as { step?: unknown; ids?: unknown };
    if (!Number.isInteger(r?.step) || !Array.isArray(r.ids) || !r.ids.every((x) => typeof x === "string")) {
      fail(li + 1, `expected {"step": integer, "ids": string[]}, received ${describeValue(o)}`);
    }
    out.push({ step: r.step as number, ids: r.ids as string[] });
  });
  return out;
}
