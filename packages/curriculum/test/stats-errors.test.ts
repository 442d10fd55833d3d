import { describe, expect, it } from "vitest";
import { CurriculumError, readStatsJsonl, selectPairs } from "../src/index.js";

// Statistics files are reported in their own words: the JSONL field name and the line.

const full = (id: string) =>
  JSON.stringify({
    id,
    level: 1,
    policy_chosen_logp: -3,
    policy_rejected_logp: -2,
    reference_chosen_logp: -3,
    reference_rejected_logp: -2,
    chosen_tokens: 4,
    rejected_tokens: 4,
    perturbed_margins: [0.1, 0.2, 0.15, 0.12],
  });

describe("sage select statistics files", () => {
  it("a line with some of a pair's statistics but not all is refused at that line, by the file's field name", () => {
    const partial = JSON.stringify({ id: "b", policy_chosen_logp: -3, reference_chosen_logp: -3 });
    const text = `${full("a")}\n${partial}\n`;
    expect(() => readStatsJsonl(text)).toThrow(CurriculumError);
    expect(() => readStatsJsonl(text)).toThrow(
      /^line 2: field "policy_rejected_logp": a pair with statistics/,
    );
  });

  it("a pair the selector asks to score without statistics is named with its line and the file's field", () => {
    const lines = Array.from({ length: 12 }, (_, i) =>
      i === 7 ? JSON.stringify({ id: "p7", level: 1 }) : full(`p${i}`),
    );
    const data = readStatsJsonl(`${lines.join("\n")}\n`);
    let message = "";
    try {
      // a pool of all 12 pairs in one stratum: the first refresh scores every pair, p7 included
      selectPairs(data, null, { selector: "sage", batchSize: 4, refreshEvery: 3, poolSize: 12, nStrata: 1 });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('line 8: pair "p7"');
    expect(message).toContain('expected field "policy_chosen_logp"');
    expect(message).not.toContain("policyChosen");
    // pairs built in code (no file) keep the TypeScript field names
    const inCode = data.map((p) => ({ ...p }));
    expect(() =>
      selectPairs(inCode, null, {
        selector: "sage",
        batchSize: 4,
        refreshEvery: 3,
        poolSize: 12,
        nStrata: 1,
      }),
    ).toThrow(/pair "p7": the selector asked to score it \(pool\), expected field "policyChosen"/);
  });
});
