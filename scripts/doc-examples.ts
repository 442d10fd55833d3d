// Documentation examples as tests. Every fenced TypeScript/JavaScript block in a Markdown file
// must say in its info string whether it runs:
//
//   ```ts example      a complete program: extracted and run by the test suite, must exit 0
//   ```js example      the same, and it must also parse as plain JavaScript (`node --check`)
//   ```ts no-run       deliberately not run (signatures, interfaces, fragments of a larger program)
//
// An unmarked ts/js block fails the test, so a new example cannot silently escape. Other fences
// (sh, yaml, plain output) are not code we can run and need no marker.
//
// Each `example` block is written to a fresh temporary folder as `example.ts` (or `.mjs` for js)
// with a `node_modules` link to this repository's node_modules, so `import "@sage/…"` resolves as
// for a user (through the `@sage/source` condition: the packages' sources, no build needed), and
// run as a child process with `node --conditions=@sage/source --import tsx` in that folder. The
// test supplies the files an example names (`pairs.jsonl`, a model folder, …) as fixtures there,
// so relative paths in an example mean what they would in a user's project. Examples run as
// written: nothing is substituted. GPU examples run on whatever adapter the other GPU tests use
// (lavapipe in CI) and must stay tiny.
//
// Use from a package's test file (see packages/*/test/readme-examples.test.ts):
//   docExampleTests({ markdown: new URL("../README.md", import.meta.url), fixtures: { … } });
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const CODE_LANGUAGES = new Set([
  "ts",
  "typescript",
  "tsx",
  "mts",
  "cts",
  "js",
  "javascript",
  "jsx",
  "mjs",
  "cjs",
]);
const RUN = "example";
const NO_RUN = "no-run";

/** One fenced code block of a Markdown file. */
export interface CodeBlock {
  /** 1-based line of the opening fence. */
  line: number;
  /** First word of the info string, lower-cased ("" when none). */
  language: string;
  /** The remaining words of the info string. */
  flags: string[];
  /** The block's text, with the fence's indentation removed. */
  code: string;
}

/** Fenced code blocks (``` or ~~~, possibly indented, e.g. inside a list item) of a Markdown text. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split("\n");
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( {0,3}|\s*)(`{3,}|~{3,})\s*(.*)$/.exec(lines[i] ?? "");
    if (!open) continue;
    const indent = open[1]?.length ?? 0;
    const fence = open[2] ?? "```";
    const [language = "", ...flags] = (open[3] ?? "").trim().split(/\s+/).filter(Boolean);
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j] ?? "";
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(line);
      if (close && close[1]?.[0] === fence[0] && (close[1]?.length ?? 0) >= fence.length) break;
      body.push(line.slice(Math.min(indent, line.length - line.trimStart().length)));
    }
    if (j >= lines.length) {
      throw new Error(`unclosed code fence opened at line ${i + 1}: expected a closing ${fence}`);
    }
    blocks.push({ line: i + 1, language: language.toLowerCase(), flags, code: `${body.join("\n")}\n` });
    i = j;
  }
  return blocks;
}

/** Whether a block is TypeScript/JavaScript, i.e. must be marked `example` or `no-run`. */
export function isCode(block: CodeBlock): boolean {
  return CODE_LANGUAGES.has(block.language);
}

/** The ts/js blocks with neither marker (or both), as "file:line" strings. */
export function unmarkedBlocks(file: string, blocks: readonly CodeBlock[]): string[] {
  return blocks
    .filter((b) => isCode(b) && b.flags.includes(RUN) === b.flags.includes(NO_RUN))
    .map((b) => `${file}:${b.line} (\`\`\`${b.language} ${b.flags.join(" ")}\`\`\`)`);
}

/** A file an example needs in its working folder: text content, or a copy of a repo path. */
export type Fixture = string | { copyFrom: string };

export interface DocExampleOptions {
  /** The Markdown file, e.g. `new URL("../README.md", import.meta.url)`. */
  markdown: URL;
  /** Files to create in each example's working folder: relative path → content or repo path. */
  fixtures?: Record<string, Fixture>;
  /**
   * Times to run each example, one after the other in the same folder (default 1): 2 checks that
   * an example which keeps state in files works both on its first run and when continuing.
   */
  runs?: number;
}

/**
 * Runs one example in a fresh folder (`runs` times in that same folder, stopping at the first
 * failure); returns the last exit status and the output of every run.
 */
export function runExample(
  block: CodeBlock,
  fixtures: Record<string, Fixture> = {},
  runs = 1,
): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "sage-doc-example-"));
  try {
    symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"), "dir");
    writeFileSync(
      join(dir, "package.json"),
      '{ "name": "doc-example", "type": "module", "private": true }\n',
    );
    for (const [path, fixture] of Object.entries(fixtures)) {
      const target = join(dir, path);
      mkdirSync(dirname(target), { recursive: true });
      if (typeof fixture === "string") writeFileSync(target, fixture);
      else cpSync(resolve(repoRoot, fixture.copyFrom), target, { recursive: true });
    }
    const file =
      block.language.includes("j") && !block.language.startsWith("t") ? "example.mjs" : "example.ts";
    writeFileSync(join(dir, file), block.code);
    if (file.endsWith(".mjs")) {
      // A js example must be plain JavaScript for this Node: parse it without any loader first.
      const check = spawnSync(process.execPath, ["--check", file], { cwd: dir, encoding: "utf8" });
      if (check.status !== 0)
        return { status: check.status, output: `not plain JavaScript:\n${check.stderr}` };
    }
    let status: number | null = 0;
    let output = "";
    for (let run = 1; run <= runs && status === 0; run++) {
      const r = spawnSync(process.execPath, ["--conditions=@sage/source", "--import", "tsx", file], {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, NODE_OPTIONS: "" },
        maxBuffer: 64 * 1024 * 1024,
      });
      status = r.status;
      output += `${runs > 1 ? `--- run ${run}\n` : ""}${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}`;
    }
    return { status, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Type-checks the TypeScript examples of one file together, with the repository's compiler options
 * (tsconfig.base.json: strict, NodeNext, the `@sage/source` condition). Only the examples' own
 * diagnostics are returned (as "file:line: message", lines of the Markdown file); the packages'
 * sources are checked by their own typecheck task.
 */
export function typecheckExamples(name: string, blocks: readonly CodeBlock[]): string[] {
  const examples = blocks.filter((b) => b.flags.includes(RUN) && b.language.startsWith("t"));
  if (examples.length === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), "sage-doc-typecheck-"));
  try {
    symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"), "dir");
    writeFileSync(
      join(dir, "package.json"),
      '{ "name": "doc-example", "type": "module", "private": true }\n',
    );
    const files = new Map<string, CodeBlock>();
    for (const b of examples) {
      const file = join(dir, `example-${b.line}.ts`);
      writeFileSync(file, b.code);
      files.set(file, b);
    }
    const base = ts.readConfigFile(join(repoRoot, "tsconfig.base.json"), (f) => ts.sys.readFile(f));
    const parsed = ts.parseJsonConfigFileContent(base.config, ts.sys, dir, { noEmit: true });
    const program = ts.createProgram([...files.keys()], parsed.options);
    const out: string[] = [];
    for (const [file, block] of files) {
      const sf = program.getSourceFile(file);
      if (!sf) throw new Error(`example ${file} was not loaded by the compiler`);
      for (const d of [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]) {
        const line = d.start === undefined ? 0 : sf.getLineAndCharacterOfPosition(d.start).line + 1;
        out.push(`${name}:${block.line + line}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
      }
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Registers the tests of one Markdown file: one that every ts/js block is marked, one that its
 * TypeScript examples type-check, and one per `example` block that runs it and expects exit
 * status 0.
 */
export function docExampleTests(options: DocExampleOptions): void {
  const path = fileURLToPath(options.markdown);
  const name = relative(repoRoot, path);
  const blocks = codeBlocks(readFileSync(path, "utf8"));
  describe(`code blocks of ${name}`, () => {
    it('marks every ts/js block "example" (run here) or "no-run"', () => {
      expect(unmarkedBlocks(name, blocks)).toEqual([]);
    });
    it("type-checks its TypeScript examples", () => {
      expect(typecheckExamples(name, blocks)).toEqual([]);
    });
    for (const block of blocks.filter((b) => isCode(b) && b.flags.includes(RUN))) {
      it(`runs the example at ${name}:${block.line}`, () => {
        const { status, output } = runExample(block, options.fixtures, options.runs);
        expect(status, `example at ${name}:${block.line} failed:\n${output}`).toBe(0);
      });
    }
  });
}

const ARITHMETIC: readonly [string, number, string][] = [
  ["2+3", 5, "6"],
  ["7-4", 3, "11"],
  ["3*3", 9, "6"],
  ["8/2", 4, "6"],
  ["6+1", 7, "8"],
  ["9-5", 4, "5"],
  ["2*4", 8, "6"],
  ["6/3", 2, "3"],
];

/**
 * `count` (≤ 8) preference pairs as TRL JSONL, in the character vocabulary of the demo model
 * `packages/cli/assets/sft-tiny` (lower-case letters, digits, `+-* /=?{}\`, newline): a fixture
 * for examples that train it.
 */
export function arithmeticPairsJsonl(count = 8): string {
  return ARITHMETIC.slice(0, count)
    .map(([q, a, wrong]) =>
      JSON.stringify({
        prompt: `what is ${q}?\n`,
        chosen: `${q}=${a}\n\\boxed{${a}}`,
        rejected: `${q}=${wrong}\n\\boxed{${wrong}}`,
      }),
    )
    .map((line) => `${line}\n`)
    .join("");
}

/** `count` (≤ 8) problems (`id`, `prompt`, `answer`, `level` 1–2) in the same vocabulary, as JSONL. */
export function arithmeticProblemsJsonl(count = 8): string {
  return ARITHMETIC.slice(0, count)
    .map(
      ([q, a], i) =>
        `${JSON.stringify({ id: `p${i}`, prompt: `what is ${q}?\n`, answer: String(a), level: 1 + (i % 2) })}\n`,
    )
    .join("");
}
