import { describe, expect, it } from "vitest";
import {
  codeBlocks,
  docExampleTests,
  runExample,
  typecheckExamples,
  unmarkedBlocks,
} from "../../../scripts/doc-examples.js";

docExampleTests({ markdown: new URL("../README.md", import.meta.url) });

// The harness itself (shared by every package's readme-examples test and the docs/ test).
describe("doc-example harness", () => {
  const md = [
    "text",
    "```ts example",
    'console.log("ok");',
    "```",
    "```ts no-run",
    "fragment(",
    "```",
    "```sh",
    "sage --help",
    "```",
    "1. a list item",
    "   ```js",
    "   unmarked();",
    "   ```",
    "",
  ].join("\n");

  it("finds fenced blocks, including indented ones, with their info-string flags", () => {
    const blocks = codeBlocks(md);
    expect(blocks.map((b) => [b.line, b.language, b.flags.join(",")])).toEqual([
      [2, "ts", "example"],
      [5, "ts", "no-run"],
      [8, "sh", ""],
      [12, "js", ""],
    ]);
    expect(blocks[3]?.code).toBe("unmarked();\n");
  });

  it("reports an unmarked ts/js block, and ignores shell blocks", () => {
    expect(unmarkedBlocks("x.md", codeBlocks(md))).toEqual(["x.md:12 (```js ```)"]);
  });

  it("rejects an unclosed fence", () => {
    expect(() => codeBlocks("```ts example\nconst a = 1;\n")).toThrow(/unclosed code fence opened at line 1/);
  });

  it("runs an example as a program: a throwing one fails, fixtures are in its working folder", () => {
    const [ok] = codeBlocks(
      '```ts example\nimport { readFileSync } from "node:fs";\nimport { resolveStabilityConfig } from "@sage/stability";\nif (readFileSync("data.txt", "utf8") !== "x") process.exit(3);\nconsole.log(resolveStabilityConfig({}).k);\n```\n',
    );
    const good = runExample(ok!, { "data.txt": "x" });
    expect(good.status, good.output).toBe(0);
    expect(good.output.trim()).toBe("4");
    const missing = runExample(ok!, {});
    expect(missing.status).not.toBe(0);
    expect(missing.output).toMatch(/ENOENT/);
  });
});

describe("doc-example harness: js examples", () => {
  it("rejects a js example that is not plain JavaScript (TypeScript syntax, `using`)", () => {
    const [typed] = codeBlocks("```js example\nconst n: number = 1;\nconsole.log(n);\n```\n");
    const r = runExample(typed!);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/not plain JavaScript/);
  });
});

describe("doc-example harness: runs", () => {
  it("runs an example again in the same folder: an example that only works once fails on run 2", () => {
    const [once] = codeBlocks(
      '```ts example\nimport { existsSync, writeFileSync } from "node:fs";\nif (existsSync("state.json")) throw new Error("state.json exists");\nwriteFileSync("state.json", "{}");\n```\n',
    );
    const one = runExample(once!, {}, 1);
    expect(one.status, one.output).toBe(0);
    const two = runExample(once!, {}, 2);
    expect(two.status).not.toBe(0);
    expect(two.output).toMatch(/--- run 2[\s\S]*state\.json exists/);
  });
});

describe("doc-example harness: type-check", () => {
  it("reports a type error of an example with its line in the Markdown file; no-run blocks are not checked", () => {
    const md = [
      "# t",
      "```ts no-run",
      "const notChecked: number = 'x';",
      "```",
      "```ts example",
      'import { resolveStabilityConfig } from "@sage/stability";',
      "const k: string = resolveStabilityConfig({}).k;",
      "```",
      "",
    ].join("\n");
    const errors = typecheckExamples("t.md", codeBlocks(md));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^t\.md:7: Type 'number' is not assignable to type 'string'/);
  });
});
