import { docExampleTests } from "../../../scripts/doc-examples.js";

// stats.jsonl for the `selectPairs` example: 64 pairs in the JSONL form of `readStatsJsonl`,
// levels 1–5, made-up log-probs (sequence sums).
const stats = Array.from({ length: 64 }, (_, i) => ({
  id: `pair-${i}`,
  policy_chosen_logp: -20 + (i % 7),
  policy_rejected_logp: -22 - (i % 3),
  reference_chosen_logp: -21,
  reference_rejected_logp: -22,
  chosen_tokens: 10 + (i % 4),
  rejected_tokens: 12,
  level: 1 + (i % 5),
}))
  .map((row) => `${JSON.stringify(row)}\n`)
  .join("");

// Each example runs twice in the same folder: the `selectPairs` one starts without state.json,
// then continues from the state it wrote.
docExampleTests({
  markdown: new URL("../README.md", import.meta.url),
  fixtures: { "stats.jsonl": stats },
  runs: 2,
});
