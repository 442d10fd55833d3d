// The code blocks of docs/*.md and the root README: every ts/js block is marked `example` (run
// here, see scripts/doc-examples.ts) or `no-run`. The cli package runs them because it depends on
// every other package.
import { readdirSync } from "node:fs";
import {
  arithmeticPairsJsonl,
  arithmeticProblemsJsonl,
  docExampleTests,
} from "../../../scripts/doc-examples.js";

const docs = new URL("../../../docs/", import.meta.url);

// Files the examples name, relative to their working folder (the repository root for docs).
const fixtures = {
  "pairs.jsonl": arithmeticPairsJsonl(8),
  "problems.jsonl": arithmeticProblemsJsonl(4),
  "packages/cli/assets/sft-tiny": { copyFrom: "packages/cli/assets/sft-tiny" },
};

docExampleTests({ markdown: new URL("../../../README.md", import.meta.url), fixtures });
for (const name of readdirSync(docs)
  .filter((n) => n.endsWith(".md"))
  .sort()) {
  docExampleTests({ markdown: new URL(name, docs), fixtures });
}
