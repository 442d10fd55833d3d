import { Rng } from "@sage/stability";
import { describe, expect, it } from "vitest";
import {
  CurriculumError,
  type DatasetPair,
  readSelectionJsonl,
  readStatsJsonl,
  selectPairs,
  writeSelectionJsonl,
  writeStatsJsonl,
} from "../src/index.js";
import { EVERY_SELECTOR } from "./fake.js";

/** Statistics as another framework would write them (seeded). */
function externalDataset(n: number, seed: number, withPerturbed = true): DatasetPair[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const pc = -40 * r.next();
    const pr = -40 * r.next();
    const e = pc / 20 - pr / 20;
    const base = {
      id: `ex-${i}`,
      level: 1 + r.int(5),
      policyChosen: pc,
      policyRejected: pr,
      referenceChosen: pc + r.normal(),
      referenceRejected: pr + r.normal(),
      chosenTokens: 20,
      rejectedTokens: 20,
    };
    return withPerturbed ? { ...base, perturbed: [0, 1, 2, 3].map(() => e + 0.1 * r.normal()) } : base;
  });
}

describe("selectPairs (use outside our trainer)", () => {
  it("returns the next batches and a state that continues where it stopped", () => {
    const data = externalDataset(600, 1);
    const cfg = { batchSize: 8, refreshEvery: 5, seed: 9 };
    const a = selectPairs(data, undefined, cfg);
    expect(a.startStep).toBe(0);
    expect(a.batches.length).toBe(5);
    expect(a.batches.every((b) => b.length === 8)).toBe(true);
    const all = a.batches.flat();
    expect(new Set(all).size).toBe(all.length);
    // spec v2 default (competence on the candidates): one scoring request per refresh, no probes
    expect(a.requests.map((r) => r.kind)).toEqual(["pool"]);
    const state = JSON.parse(JSON.stringify(a.state));
    const b = selectPairs(data, state, {});
    expect(b.startStep).toBe(5);
    // the same as one call of 10 steps
    const both = selectPairs(data, null, { ...cfg, steps: 10 });
    expect([...a.batches, ...b.batches]).toEqual(both.batches);
    expect(a.events.some((e) => e.type === "refresh")).toBe(true);
  });

  it("reads only the pairs it asks to score; missing statistics are named", () => {
    const data = externalDataset(300, 2, false);
    expect(() => selectPairs(data, null, { batchSize: 4, refreshEvery: 2 })).toThrow(
      /perturbed margins for the "token-dropout" scheme: expected 4 margins/,
    );
    const r = selectPairs(data, null, { batchSize: 4, refreshEvery: 2, perturbation: "none" });
    expect(r.batches.length).toBe(2);
    const asked = new Set(r.requests.flatMap((q) => q.pairIds));
    const sparse = data.map((p, i) => (asked.has(i) ? p : { id: p.id, level: p.level! }));
    expect(
      selectPairs(sparse, null, { batchSize: 4, refreshEvery: 2, perturbation: "none" }).batches,
    ).toEqual(r.batches);
    const missing = data.map((p, i) => (i === r.requests[0]!.pairIds[0] ? { id: p.id, level: p.level! } : p));
    expect(() => selectPairs(missing, null, { batchSize: 4, refreshEvery: 2, perturbation: "none" })).toThrow(
      new RegExp(
        `pair "${data[r.requests[0]!.pairIds[0]!]!.id}": the selector asked to score it \\(pool\\), expected field "policyChosen"`,
      ),
    );
  });

  it("refuses duplicate ids, a reordered dataset, or a config that differs from the state's", () => {
    const data = externalDataset(50, 3);
    expect(() => selectPairs([...data, data[0]!], null)).toThrow(/appears twice \(indices 0 and 50\)/);
    const a = selectPairs(data, null, { batchSize: 2, refreshEvery: 2, nStrata: 2, probeSize: 4 });
    expect(() => selectPairs([...data].reverse(), a.state)).toThrow(CurriculumError);
    expect(() => selectPairs(data, a.state, { batchSize: 3 })).toThrow(
      /config differs from the one stored in the state: "batchSize": the state holds 2, this call asks for 3\. /,
    );
    // only the differing field is named; equal fields given again are accepted
    expect(() => selectPairs(data, a.state, { batchSize: 2, stability: { k: 5 } })).toThrow(
      /: "stability\.k": the state holds 4, this call asks for 5\. Give the same config/,
    );
    expect(() => selectPairs(data, a.state, { selector: "uniform" })).toThrow(
      /selector name: expected "sage"/,
    );
    const again = selectPairs(data, a.state, {
      selector: "sage",
      batchSize: 2,
      refreshEvery: 2,
      nStrata: 2,
      probeSize: 4,
    });
    expect(again.startStep).toBe(2);
    expect(again.batches).toEqual(selectPairs(data, a.state).batches);
  });

  it("works with every selector", () => {
    const data = externalDataset(200, 4);
    for (const selector of EVERY_SELECTOR) {
      const r = selectPairs(data, null, { selector, batchSize: 4, refreshEvery: 3 });
      expect(r.batches.length).toBe(3);
      expect(r.state.selector.name).toBe(selector);
    }
  });
});

describe("JSONL in/out", () => {
  it("round-trips statistics and selections", () => {
    const data = externalDataset(20, 5);
    const text = writeStatsJsonl(data);
    expect(text.split("\n")[0]).toContain('"policy_chosen_logp"');
    const back = readStatsJsonl(`${text}\n\n`);
    expect(back).toEqual(data);
    const sel = selectPairs(back, null, { batchSize: 3, refreshEvery: 2, nStrata: 2, probeSize: 2 });
    const out = writeSelectionJsonl(sel);
    expect(readSelectionJsonl(out)).toEqual(sel.batches.map((ids, j) => ({ step: j, ids })));
  });

  it("reports line-numbered validation errors", () => {
    const ok = '{"id": "a", "level": 1}';
    expect(() => readStatsJsonl(`${ok}\n{"id": "b", "policy_chosen_logp": "x"}`)).toThrow(
      /line 2: field "policy_chosen_logp": expected a finite number, received "x"/,
    );
    expect(() => readStatsJsonl(`${ok}\n\n{oops`)).toThrow(/line 3: invalid JSON/);
    expect(() => readStatsJsonl(`${ok}\n${ok}`)).toThrow(
      /line 2: field "id": "a" already appeared on line 1/,
    );
    expect(() => readStatsJsonl('{"policy_chosen_logp": -1}')).toThrow(
      /line 1: field "id": expected a non-empty string or an integer/,
    );
    expect(() => readStatsJsonl('{"id": 1, "chosen_tokens": 0}')).toThrow(
      /line 1: field "chosen_tokens": expected an integer ≥ 1, received 0/,
    );
    expect(() => readStatsJsonl('{"id": 1, "perturbed_margins": [1, null]}')).toThrow(
      /line 1: field "perturbed_margins\[1\]"/,
    );
    expect(() => readStatsJsonl("[1,2]")).toThrow(/line 1: expected a JSON object/);
    expect(() => readSelectionJsonl('{"step": 0}')).toThrow(
      /line 1: expected \{"step": integer, "ids": string\[\]\}/,
    );
  });
});
