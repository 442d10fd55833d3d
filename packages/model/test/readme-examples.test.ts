import { docExampleTests } from "../../../scripts/doc-examples.js";

// The example loads "./models/my-qwen2": here the 2-layer test fixture (27 kB), on WebGPU (lavapipe in CI).
docExampleTests({
  markdown: new URL("../README.md", import.meta.url),
  fixtures: { "models/my-qwen2": { copyFrom: "packages/model/test/fixtures/qwen2-tiny" } },
});
