import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readSelectionJsonl } from "@sage/curriculum";
import { describe, expect, it } from "vitest";
import { run } from "./helpers.js";

const here = dirname(fileURLToPath(import.meta.url));

const tempDir = () => mkdtemp(join(tmpdir(), "sage-cli-"));

/** Seeded stats for `n` pairs (a tiny LCG keeps the fixture independent of other packages). */
function statsJsonl(n: number, seed = 1): string {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  let text = "";
  for (let i = 0; i < n; i++) {
    const tw = 5 + Math.floor(u() * 20);
    const tl = 5 + Math.floor(u() * 20);
    const refW = -tw * (0.5 + u());
    const refL = -tl * (0.5 + u());
    text += `${JSON.stringify({
      id: `pair-${i}`,
      policy_chosen_logp: refW + (u() - 0.5) * 4,
      policy_rejected_logp: refL + (u() - 0.5) * 4,
      reference_chosen_logp: refW,
      reference_rejected_logp: refL,
      chosen_tokens: tw,
      rejected_tokens: tl,
      pass_rate: u(),
    })}\n`;
  }
  return text;
}

describe("sage CLI parsing", () => {
  it("--help works for the program and every command", async () => {
    const top = await run(["--help"]);
    expect(top.code).toBe(0);
    expect(top.out).toContain("select");
    expect(top.out).toContain("eval");
    for (const cmd of ["select", "eval", "train", "pairs", "sft"]) {
      const r = await run([cmd, "--help"]);
      expect(r.code, cmd).toBe(0);
      expect(r.out).toContain(`Usage: sage ${cmd}`);
      expect(r.out).toContain("--config <file>");
    }
    for (const cmd of ["demo", "bench"]) {
      const r = await run([cmd, "--help"]);
      expect(r.code, cmd).toBe(0);
      expect(r.out).toContain(`Usage: sage ${cmd}`);
    }
  });

  it("rejects an unknown command with a usage error", async () => {
    const r = await run(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("unknown command");
  });

  it("reports usage errors with exit code 2", async () => {
    const missing = await run(["select", "--out", "x.jsonl"]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("--stats <file>");
    const badInt = await run(["select", "--stats", "a", "--out", "b", "--steps", "1.5"]);
    expect(badInt.code).toBe(2);
    expect(badInt.err).toContain('--steps must be an integer ≥ 1; received "1.5"');
  });
});

describe("config files", () => {
  const cases: Array<[string, string, string]> = [
    ["bad.yaml", "curriculum:\n  stability:\n    k: 0\n", 'field "curriculum.stability.k"'],
    ["bad.json", JSON.stringify({ curriculum: { refreshEvry: 3 } }), "refreshEvry"],
    ["bad2.yaml", "selector: best\n", 'field "selector"'],
    ["bad3.yaml", "steps: [1\n", "not valid YAML"],
    ["bad.toml", "steps = 1\n", "expected a JSON object or YAML mapping"],
  ];
  it.each(cases)("%s is rejected naming the field", async (name, text, expected) => {
    const dir = await tempDir();
    await writeFile(join(dir, name), text);
    await writeFile(join(dir, "stats.jsonl"), statsJsonl(10));
    const r = await run([
      "select",
      "--stats",
      join(dir, "stats.jsonl"),
      "--out",
      join(dir, "o.jsonl"),
      "--config",
      join(dir, name),
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(name);
    expect(r.err).toContain(expected);
  });
});

describe("sage select end to end", () => {
  it("selects batches from a stats JSONL, and continuing from the state equals one longer call", async () => {
    const dir = await tempDir();
    const stats = join(dir, "stats.jsonl");
    await writeFile(stats, statsJsonl(60));
    const cfg = join(dir, "select.yaml");
    await writeFile(
      cfg,
      "selector: sage\nsteps: 6\ncurriculum:\n  batchSize: 4\n  refreshEvery: 3\n  probeSize: 2\n  perturbation: none\n  seed: 5\n",
    );
    const state = join(dir, "state.json");
    const a1 = await run([
      "select",
      "--stats",
      stats,
      "--out",
      join(dir, "a1.jsonl"),
      "--config",
      cfg,
      "--state",
      state,
    ]);
    expect(a1.code, a1.err).toBe(0);
    expect(a1.out).toMatch(/selected 6 batches \(steps 0–5\)/);
    const a2 = await run([
      "select",
      "--stats",
      stats,
      "--out",
      join(dir, "a2.jsonl"),
      "--state",
      state,
      "--steps",
      "6",
    ]);
    expect(a2.code, a2.err).toBe(0);
    expect(a2.out).toContain("continuing from the state file");
    const once = await run([
      "select",
      "--stats",
      stats,
      "--out",
      join(dir, "b.jsonl"),
      "--config",
      cfg,
      "--steps",
      "12",
    ]);
    expect(once.code, once.err).toBe(0);

    const split = [
      ...readSelectionJsonl(await readFile(join(dir, "a1.jsonl"), "utf8")),
      ...readSelectionJsonl(await readFile(join(dir, "a2.jsonl"), "utf8")),
    ];
    const whole = readSelectionJsonl(await readFile(join(dir, "b.jsonl"), "utf8"));
    expect(split.map((b) => b.step)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(split).toEqual(whole);
    const ids = new Set(Array.from({ length: 60 }, (_, i) => `pair-${i}`));
    for (const b of whole) {
      expect(b.ids).toHaveLength(4);
      expect(new Set(b.ids).size).toBe(4);
      for (const id of b.ids) expect(ids.has(id)).toBe(true);
    }
  });

  it("names the stats file and line of a bad line, and refuses config overrides with a state", async () => {
    const dir = await tempDir();
    const stats = join(dir, "stats.jsonl");
    await writeFile(stats, `${statsJsonl(3)}{"id": "x", "chosen_tokens": 0}\n`);
    const r = await run(["select", "--stats", stats, "--out", join(dir, "o.jsonl")]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("stats.jsonl: line 4");
    expect(r.err).toContain('"chosen_tokens"');
    const ok = join(dir, "ok.jsonl");
    await writeFile(ok, statsJsonl(40));
    const state = join(dir, "s.json");
    // default sage config wants token-dropout margins, which these stats lack
    const select = (...extra: string[]) =>
      run(["select", "--stats", ok, "--out", join(dir, "o.jsonl"), ...extra]);
    const noMargins = await select("--batch-size", "4");
    expect(noMargins.code).toBe(2);
    expect(noMargins.err).toContain("perturbed margins");
    const first = await select(
      "--state",
      state,
      "--selector",
      "uniform",
      "--batch-size",
      "4",
      "--steps",
      "2",
    );
    expect(first.code, first.err).toBe(0);
    const again = await select("--state", state, "--seed", "3");
    expect(again.code).toBe(2);
    expect(again.err).toContain("already holds the selector config");
  });

  it("the bin file runs the CLI", async () => {
    const dir = await tempDir();
    const stats = join(dir, "stats.jsonl");
    await writeFile(stats, statsJsonl(30));
    const out = join(dir, "sel.jsonl");
    const r = spawnSync(
      process.execPath,
      [
        "--conditions=@sage/source",
        "--import",
        "tsx",
        join(here, "..", "bin", "sage.js"),
        "select",
        "--stats",
        stats,
        "--out",
        out,
        "--selector",
        "uniform",
        "--batch-size",
        "5",
        "--steps",
        "3",
      ],
      { encoding: "utf8", cwd: join(here, "..") },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("selected 3 batches");
    expect(readSelectionJsonl(await readFile(out, "utf8")).map((b) => b.ids.length)).toEqual([5, 5, 5]);
  });
});

describe("sage eval", () => {
  it("grades a responses JSONL and writes records and a summary", async () => {
    const dir = await tempDir();
    const responses = join(dir, "responses.jsonl");
    await writeFile(
      responses,
      [
        { id: "a", response: "so the answer is \\boxed{4}", reference: "4", level: 1 },
        { id: "b", response: "\\boxed{\\frac{1}{2}}", answer: "0.5", level: 2 },
        { id: "c", response: "I think 7", reference: "8", level: 2 },
        { id: "d", response: "no idea", answer: 3, level: 2 },
      ]
        .map((o) => JSON.stringify(o))
        .join("\n"),
    );
    const out = join(dir, "graded.jsonl");
    const r = await run(["eval", "--responses", responses, "--out", out]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("pass@1 50.0% over 4 problems");
    expect(r.out).toContain("level 1: pass@1 100.0%");
    const graded = (await readFile(out, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id: string; correct: boolean });
    expect(graded.map((g) => [g.id, g.correct])).toEqual([
      ["a", true],
      ["b", true],
      ["c", false],
      ["d", false],
    ]);
    const summary = JSON.parse(await readFile(`${out}.summary.json`, "utf8")) as { pass1: number };
    expect(summary.pass1).toBe(0.5);
  });

  it("names file, line and field of a bad response line", async () => {
    const dir = await tempDir();
    const responses = join(dir, "r.jsonl");
    await writeFile(
      responses,
      `${JSON.stringify({ id: "a", response: "x", reference: "1" })}\n${JSON.stringify({ id: "b", response: 5, reference: "1" })}\n`,
    );
    const r = await run(["eval", "--responses", responses]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('r.jsonl:2: field "response"');
    const noRef = join(dir, "n.jsonl");
    await writeFile(noRef, JSON.stringify({ id: "a", response: "x" }));
    const r2 = await run(["eval", "--responses", noRef]);
    expect(r2.code).toBe(2);
    expect(r2.err).toContain('field "reference"');
    const notJson = join(dir, "j.jsonl");
    await writeFile(notJson, "{not json\n");
    const r3 = await run(["eval", "--responses", notJson]);
    expect(r3.code).toBe(2);
    expect(r3.err).toContain('j.jsonl:1: field "(line)": expected one JSON object');
    const missing = await run(["eval", "--responses", join(dir, "missing.jsonl")]);
    expect(missing.code).toBe(2); // a wrong path is an input error
    expect(missing.err).toContain("--responses");
    expect(missing.err).toContain("missing.jsonl: expected an existing file");
  });
});
