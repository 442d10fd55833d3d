import { describe, expect, it } from "vitest";
import {
  readPairsJsonl,
  readStatsJsonl,
  type ScoringPlan,
  writePairRowsJsonl,
  writePlanJsonl,
} from "../src/index.js";

const line = (o: unknown) => JSON.stringify(o);

describe("readPairsJsonl (TRL preference files)", () => {
  it("keeps the text as it is, gives id-less lines line:<n>, and reads the difficulty inputs", () => {
    const conv = {
      prompt: [{ role: "user", content: "2+2?" }],
      chosen: [{ role: "assistant", content: "4" }],
      rejected: [{ role: "assistant", content: "5" }],
      level: "Level 3",
    };
    const text = [
      line({ prompt: "a", chosen: "b", rejected: "c", level: 2 }),
      "",
      line({ id: 7, prompt: "d", chosen: "e", rejected: "f", difficulty: 0.25 }),
      line(conv),
      line({
        id: "x",
        chosen: "g",
        rejected: "h",
        ref_chosen_logps: -3,
        ref_rejected_logps: -4,
        pass_rate: 0.5,
      }),
    ].join("\r\n");
    const { pairs, rows } = readPairsJsonl(text);
    expect(pairs).toEqual([
      { id: "line:1", level: 2 },
      { id: "7", passRate: 0.75 },
      { id: "line:4", level: 3 },
      { id: "x", referenceChosen: -3, referenceRejected: -4, passRate: 0.5 },
    ]);
    expect(rows).toEqual([
      { id: "line:1", line: 1, prompt: "a", chosen: "b", rejected: "c" },
      { id: "7", line: 3, prompt: "d", chosen: "e", rejected: "f" },
      { id: "line:4", line: 4, prompt: conv.prompt, chosen: conv.chosen, rejected: conv.rejected },
      { id: "x", line: 5, chosen: "g", rejected: "h" },
    ]);
    // pass_rate wins over difficulty when both are given
    expect(
      readPairsJsonl(line({ chosen: "a", rejected: "b", pass_rate: 0.1, difficulty: 0.5 })).pairs[0],
    ).toEqual({
      id: "line:1",
      passRate: 0.1,
    });
  });

  it("names the line and field of every bad input", () => {
    const ok = line({ prompt: "p", chosen: "a", rejected: "b" });
    const cases: [string, RegExp][] = [
      [
        `${ok}\n${line({ chosen: "a" })}`,
        /line 2: field "rejected": expected a non-empty string or message list \(TRL format\), received undefined/,
      ],
      [line({ chosen: "", rejected: "b" }), /line 1: field "chosen"/],
      [
        line({ prompt: 3, chosen: "a", rejected: "b" }),
        /line 1: field "prompt": expected a non-empty string or message list, received 3/,
      ],
      [
        `${ok}\n${line({ id: "line:1", chosen: "a", rejected: "b" })}`,
        /line 2: field "id": "line:1" already appeared on line 1/,
      ],
      [
        line({ chosen: "a", rejected: "b", difficulty: 2 }),
        /line 1: field "difficulty": expected a number in \[0, 1\], received 2/,
      ],
      [
        line({ chosen: "a", rejected: "b", level: "hard" }),
        /line 1: field "level": expected a number or "Level <n>", received "hard"/,
      ],
      [
        line({ chosen: "a", rejected: "b", ref_chosen_logps: -1 }),
        /line 1: reference log-probs: expected both/,
      ],
      [
        line({
          chosen: "a",
          rejected: "b",
          ref_chosen_logps: -1,
          reference_chosen_logp: -1,
          ref_rejected_logps: -2,
        }),
        /line 1: fields "ref_chosen_logps" and "reference_chosen_logp": expected one of them, received both/,
      ],
      [
        line({ chosen: "a", rejected: "b", ref_chosen_logps: "x", ref_rejected_logps: -2 }),
        /field "reference_chosen_logp": expected a finite number/,
      ],
      ["{oops", /line 1: invalid JSON/],
    ];
    for (const [text, re] of cases) expect(() => readPairsJsonl(text), String(re)).toThrow(re);
  });

  it("a TRL line given as statistics points to the pairs reader", () => {
    expect(() => readStatsJsonl(line({ prompt: "p", chosen: "a", rejected: "b" }))).toThrow(
      /line 1: field "id": expected a non-empty string or an integer, received undefined \(this line holds prompt\/chosen\/rejected: a TRL pairs file goes to `sage select --pairs`/,
    );
    expect(() => readStatsJsonl(line({ policy_chosen_logp: -1 }))).toThrow(/received undefined$/);
  });
});

describe("TRL rows and plan lines", () => {
  const { rows } = readPairsJsonl(
    [
      line({ id: "a", prompt: "pa", chosen: "ca", rejected: "ra" }),
      line({
        chosen: [
          { role: "user", content: "q" },
          { role: "assistant", content: "x" },
        ],
        rejected: [
          { role: "user", content: "q" },
          { role: "assistant", content: "y" },
        ],
      }),
    ].join("\n"),
  );

  it("writes one TRL row per selected pair, in training order, with id and step", () => {
    const text = writePairRowsJsonl({ startStep: 4, batches: [["line:2", "a"], ["a"]] }, rows);
    const out = text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(out).toEqual([
      { chosen: rows[1]!.chosen, rejected: rows[1]!.rejected, id: "line:2", step: 4 },
      { prompt: "pa", chosen: "ca", rejected: "ra", id: "a", step: 4 },
      { prompt: "pa", chosen: "ca", rejected: "ra", id: "a", step: 5 },
    ]);
    expect(Object.keys(out[1])).toEqual(["prompt", "chosen", "rejected", "id", "step"]);
    expect(() => writePairRowsJsonl({ startStep: 0, batches: [["zz"]] }, rows)).toThrow(
      /pair "zz": no text row/,
    );
  });

  it("writes the plan with pair keys, the perturbation and (given rows) the text", () => {
    const plan: ScoringPlan = {
      kind: "pool",
      refresh: 2,
      step: 25,
      ids: ["line:2", "a"],
      pairKeys: [1, 0],
      perturbation: { kind: "token-dropout", k: 4, rho: 0.1, seed: 99 },
      errorMargin: "policy",
      forwardPasses: 2,
    };
    const withText = writePlanJsonl(plan, rows)
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(withText[1]).toEqual({
      id: "a",
      pair_key: 0,
      kind: "pool",
      refresh: 2,
      step: 25,
      error_margin: "policy",
      perturbation: { kind: "token-dropout", k: 4, rho: 0.1, seed: 99 },
      prompt: "pa",
      chosen: "ca",
      rejected: "ra",
    });
    expect(JSON.parse(writePlanJsonl(plan).split("\n")[0]!)).not.toHaveProperty("chosen");
    expect(writePlanJsonl(null)).toBe("");
  });
});
