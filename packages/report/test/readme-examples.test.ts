import { docExampleTests } from "../../../scripts/doc-examples.js";

docExampleTests({ markdown: new URL("../README.md", import.meta.url) });
