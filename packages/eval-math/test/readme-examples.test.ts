import { docExampleTests } from "../../../scripts/doc-examples.js";

// The example loads the package's own sample-data (4 hand-written MATH-500-format problems).
docExampleTests({ markdown: new URL("../README.md", import.meta.url) });
