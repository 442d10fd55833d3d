import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { run } from "./helpers.js";

/**
 * docs/other-trainers.md, executed: every fenced block with a `title="…"` is written to a temporary
 * folder; the shell block's `sage` lines run through the CLI (in-process) and its `python3` lines
 * with the system python3 (stdlib only, plus packages/stability/python on PYTHONPATH); the Python
 * `--serve` client runs against the real bin. The TRL sketch (no title) needs torch and is not run.
 */
const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..", "..");
const DOC = join(repo, "docs", "other-trainers.md");
const PYTHON_LIB = join(repo, "packages", "stability", "python");
const BIN = join(here, "..", "bin", "sage.js");

const hasPython = spawnSync("python3", ["--version"]).status === 0;
/** In CI (CI=true) a missing python3 fails these tests; elsewhere they are skipped. */
const runPython = hasPython || process.env.CI === "true";

function titledBlocks(markdown: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of markdown.matchAll(/^```\w+ title="([^"]+)"\n([\s\S]*?)^```$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** A TRL dataset: string pairs with levels (some without ids) and a few conversational ones. */
function trainJsonl(n: number): string {
  let text = "";
  for (let i = 0; i < n; i++) {
    const row: Record<string, unknown> =
      i % 10 === 5
        ? {
            prompt: [{ role: "user", content: `Name ${i} in words.` }],
            chosen: [{ role: "assistant", content: `number ${i}` }],
            rejected: [{ role: "assistant", content: `number ${i + 1} maybe` }],
          }
        : {
            prompt: `Compute ${i} * 3.`,
            chosen: `It is ${3 * i}.`,
            rejected: `It is ${3 * i + 2}, I think.`,
          };
    row.level = 1 + (i % 5);
    if (i % 4 !== 0) row.id = `ex${i}`;
    text += `${JSON.stringify(row)}\n`;
  }
  return text;
}

const readLines = async (file: string) =>
  (await readFile(file, "utf8"))
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("docs/other-trainers.md", () => {
  const blocks = titledBlocks(readFileSync(DOC, "utf8"));

  it("has the blocks the tests run", () => {
    expect([...blocks.keys()].sort()).toEqual([
      "refresh.sh",
      "sage.yaml",
      "sage_client.py",
      "standin_scores.py",
    ]);
  });

  it.runIf(runPython)(
    "the plan → scores → select round trip, and the same through the --serve client",
    async () => {
      expect(hasPython, "python3 is required (CI=true)").toBe(true);
      const dir = await mkdtemp(join(tmpdir(), "sage-docs-"));
      for (const [name, text] of blocks) await writeFile(join(dir, name), text);
      await writeFile(join(dir, "train.jsonl"), trainJsonl(80));
      // no __pycache__ in the repository: the reference module is imported from packages/stability/python
      const env = { ...process.env, PYTHONPATH: PYTHON_LIB, PYTHONDONTWRITEBYTECODE: "1" };
      const inDir = (a: string) => (!a.startsWith("-") && /\.\w+$/.test(a) ? join(dir, a) : a);
      const commands = blocks
        .get("refresh.sh")!
        .split("\n")
        .filter((l) => l.trim() !== "");
      expect(commands.map((c) => c.split(" ")[0])).toEqual(["sage", "python3", "sage"]);
      const cliRows: Record<string, unknown>[] = [];
      for (let round = 0; round < 3; round++) {
        for (const line of commands) {
          const [cmd, ...args] = line.trim().split(/\s+/);
          if (cmd === "sage") {
            const r = await run(args.map(inDir));
            expect(r.code, `${line}\n${r.err}`).toBe(0);
          } else {
            const r = spawnSync("python3", args, { cwd: dir, env, encoding: "utf8" });
            expect(r.status, `${line}\n${r.stderr}`).toBe(0);
            expect(r.stdout).toMatch(/^scored \d+ pairs/);
          }
        }
        const rows = await readLines(join(dir, "rows.jsonl"));
        expect(rows.length).toBeGreaterThan(0);
        const ids = rows.map((r) => r.id);
        expect(new Set(ids).size).toBe(ids.length);
        cliRows.push(...rows);
      }
      // TRL rows: the text of the pairs file, unchanged (message lists too), with id and step
      const source = new Map(
        (await readLines(join(dir, "train.jsonl"))).map((r, i) => [String(r.id ?? `line:${i + 1}`), r]),
      );
      for (const r of cliRows) {
        const s = source.get(String(r.id))!;
        expect({ prompt: r.prompt, chosen: r.chosen, rejected: r.rejected }).toEqual({
          prompt: s.prompt,
          chosen: s.chosen,
          rejected: s.rejected,
        });
      }
      expect(
        cliRows.some((r) => String(r.id).startsWith("line:")),
        JSON.stringify(cliRows.map((r) => [r.id, r.step])),
      ).toBe(true);
      expect(cliRows.some((r) => Array.isArray(r.chosen))).toBe(true);
      expect(cliRows.map((r) => r.step)).toEqual(cliRows.map((_, i) => Math.floor(i / 4)));

      // the same three refreshes through one `sage select --serve` process, from the Python client
      const sage = [process.execPath, "--conditions=@sage/source", "--import", "tsx", BIN]
        .map((a) => `'${a}'`)
        .join(" ");
      const rowsServe = join(dir, "rows-serve.jsonl");
      const r = spawnSync(
        "python3",
        [
          join(dir, "sage_client.py"),
          join(dir, "train.jsonl"),
          join(dir, "sage.yaml"),
          join(dir, "serve-state.json"),
          rowsServe,
          "3",
        ],
        { cwd: join(here, ".."), env: { ...env, SAGE: sage }, encoding: "utf8" },
      );
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe("exit 0");
      expect(await readLines(rowsServe)).toEqual(cliRows);
    },
  );
});
