import { docExampleTests } from "../../../scripts/doc-examples.js";

// Both runnable examples create a WebGPU context (lavapipe in CI) and use a few tiny tensors.
docExampleTests({ markdown: new URL("../README.md", import.meta.url) });
