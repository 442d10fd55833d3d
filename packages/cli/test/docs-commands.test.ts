// Every `sage …` line in the shell blocks of the READMEs and docs/ is checked against the real
// command tree: the command exists, every flag is one of its options, and the required options are
// there (unless the line asks for --help). The lines are parsed, not run (most need a model folder, a
// data set or minutes of GPU time; the commands themselves are exercised by the other CLI tests), so
// a renamed or removed flag fails here instead of drifting in the docs.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createProgram } from "../src/program.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const files = [
  "README.md",
  ...readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
  ...readdirSync(join(root, "packages")).map((p) => `packages/${p}/README.md`),
  "apps/playground/README.md",
];

interface SageLine {
  readonly where: string;
  readonly tokens: string[];
}

/** `sage …` command lines of the sh/bash/shell blocks of one Markdown file (continuations joined). */
function sageLines(file: string): SageLine[] {
  let text: string;
  try {
    text = readFileSync(join(root, file), "utf8");
  } catch {
    return [];
  }
  const out: SageLine[] = [];
  const lines = text.split("\n");
  let inShell = false;
  let pending = "";
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^```/.test(line)) {
      inShell = !inShell && /^```(sh|bash|shell|console)\b/.test(line);
      pending = "";
      continue;
    }
    if (!inShell) continue;
    if (pending === "") start = i + 1;
    const code = line.replace(/(^|\s)#.*$/, "").trimEnd();
    if (code.endsWith("\\")) {
      pending += `${code.slice(0, -1)} `;
      continue;
    }
    const full = (pending + code).trim().replace(/^\$\s+/, "");
    pending = "";
    for (const part of full.split(/\s*(?:;|&&)\s*/)) {
      const m = /^(?:npx\s+)?sage\s+(.*)$/.exec(part) ?? /^npm run (?:-s )?sage -- (.*)$/.exec(part);
      if (m) out.push({ where: `${file}:${start}`, tokens: m[1]!.split(/\s+/).filter(Boolean) });
    }
  }
  return out;
}

const program = createProgram({ stdout: () => {}, stderr: () => {} });
const all = files.flatMap(sageLines);

describe("sage command lines in the docs", () => {
  it("finds the documented command lines", () => {
    // the READMEs and guides show every command; a parser that found none would check nothing
    const commands = new Set(all.map((l) => l.tokens[0]));
    for (const c of ["demo", "train", "pairs", "sft", "select", "eval", "bench"])
      expect(commands).toContain(c);
  });

  for (const line of all) {
    it(`${line.where}: sage ${line.tokens.join(" ")}`, () => {
      const [name, ...rest] = line.tokens;
      if (name === "--help" || name === "-h" || name === "--version" || name === "-V") return;
      const cmd = program.commands.find((c) => c.name() === name);
      expect(cmd, `${line.where}: no command "sage ${name}"`).toBeDefined();
      const known = new Set(cmd!.options.flatMap((o) => [o.long, o.short].filter(Boolean) as string[]));
      known.add("--help").add("-h");
      const flags = rest.filter((t) => t.startsWith("-") && !/^-\d/.test(t)).map((t) => t.split("=")[0]!);
      for (const f of flags) expect(known, `${line.where}: sage ${name} has no option ${f}`).toContain(f);
      if (flags.includes("--help") || flags.includes("-h")) return;
      for (const o of cmd!.options.filter((x) => x.mandatory)) {
        expect(flags, `${line.where}: sage ${name} needs ${o.long}`).toContain(o.long);
      }
    });
  }
});
