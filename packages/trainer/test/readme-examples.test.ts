import { arithmeticPairsJsonl, docExampleTests } from "../../../scripts/doc-examples.js";

// The example trains 2 DPO steps of the 110k-parameter demo model on WebGPU (lavapipe in CI).
docExampleTests({
  markdown: new URL("../README.md", import.meta.url),
  fixtures: {
    "pairs.jsonl": arithmeticPairsJsonl(4),
    "sft-model": { copyFrom: "packages/cli/assets/sft-tiny" },
  },
});
