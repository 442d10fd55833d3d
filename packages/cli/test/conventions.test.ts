import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createProgram } from "../src/index.js";
import { run } from "./helpers.js";

const here = dirname(fileURLToPath(import.meta.url));
const tempDir = () => mkdtemp(join(tmpdir(), "sage-cli-conv-"));

/** A JSONL whose line 2 holds a Latin-1 "é" (0xE9): not UTF-8. */
function latin1Jsonl(first: object, second: string): Buffer {
  return Buffer.concat([
    Buffer.from(`${JSON.stringify(first)}\n`),
    Buffer.from(second.split("é")[0]!),
    Buffer.from([0xe9]),
    Buffer.from(`${second.split("é")[1]!}\n`),
  ]);
}

describe("help: usage lines and examples", () => {
  it("every command's usage line lists its required options, and its help has examples", () => {
    const program = createProgram({ stdout: () => {}, stderr: () => {} });
    expect(program.commands.length).toBeGreaterThanOrEqual(7);
    for (const command of program.commands) {
      const help = command.helpInformation();
      const usage = help.split("\n")[0]!;
      expect(usage.startsWith(`Usage: sage ${command.name()} `), usage).toBe(true);
      for (const o of command.options.filter((x) => x.mandatory))
        expect(usage, command.name()).toContain(o.flags);
    }
    expect(
      program.commands
        .find((c) => c.name() === "train")!
        .helpInformation()
        .split("\n")[0],
    ).toBe("Usage: sage train --pairs <file> --model <dir> --run-dir <dir> [options]");
  });

  it("prints examples after each command's options", async () => {
    for (const cmd of ["select", "eval", "train", "pairs", "sft", "demo", "bench"]) {
      const r = await run([cmd, "--help"]);
      expect(r.code, cmd).toBe(0);
      expect(r.out, cmd).toMatch(new RegExp(`Examples:\\n {2}\\$ sage ${cmd} `));
    }
    const top = await run(["--help"]);
    expect(top.out).toContain("Examples:\n  $ sage demo --quick");
  });

  it("states the --quick run time the measurements in docs/demo.md give", async () => {
    const r = await run(["demo", "--help"]);
    expect(r.out.replace(/\s+/g, " ")).toContain(
      "about 1 minute on a 2-core CPU with lavapipe; the default takes about 6",
    );
  });

  it("--help loads no library: it works with the library packages made unloadable", () => {
    // A module hook that refuses the heavy packages (mathjs, Dawn, the @sage libraries): `--help`
    // must not need them. The same hook makes a command that does need them fail (the control).
    const hook = `data:text/javascript,${encodeURIComponent(
      `export async function resolve(s, c, next) {
        const r = await next(s, c);
        if (/\\/packages\\/(eval-math|trainer|model|kernels-webgpu|curriculum|stability|report)\\/|\\/node_modules\\/(mathjs|webgpu)\\//.test(r.url))
          throw new Error("refused to load " + r.url);
        return r;
      }`,
    )}`;
    const register = `data:text/javascript,${encodeURIComponent(
      `import { register } from "node:module"; register(${JSON.stringify(hook)});`,
    )}`;
    const sage = (...args: string[]) =>
      spawnSync(
        process.execPath,
        [
          "--conditions=@sage/source",
          "--import",
          "tsx",
          "--import",
          register,
          join(here, "..", "bin", "sage.js"),
          ...args,
        ],
        { encoding: "utf8", cwd: join(here, "..") },
      );
    for (const args of [["--help"], ["eval", "--help"], ["train", "--help"], ["--version"]]) {
      const r = sage(...args);
      expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(0);
      expect(r.stdout).not.toBe("");
    }
    const control = sage("eval", "--responses", join(here, "helpers.ts"));
    expect(control.status).toBe(1);
    expect(control.stderr).toContain("refused to load");
  });
});

describe("bad input: exit code 2 and a message naming what was expected and received", () => {
  it("a byte that is not UTF-8 stops the run with file:line (eval, train, sft, pairs)", async () => {
    const dir = await tempDir();
    const model = join(dir, "model");
    await mkdir(model);
    const responses = join(dir, "responses.jsonl");
    await writeFile(
      responses,
      latin1Jsonl(
        { id: 1, response: "\\boxed{1}", reference: "1" },
        '{"id":2,"response":"café","reference":"2"}',
      ),
    );
    const r = await run(["eval", "--responses", responses]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("responses.jsonl:2: expected UTF-8 text; received the byte 0xE9");

    const pairs = join(dir, "pairs.jsonl");
    await writeFile(
      pairs,
      latin1Jsonl({ prompt: "p", chosen: "c", rejected: "r" }, '{"prompt":"é","chosen":"c","rejected":"r"}'),
    );
    const t = await run([
      "train",
      "--pairs",
      pairs,
      "--model",
      model,
      "--run-dir",
      join(dir, "run"),
      "--steps",
      "1",
    ]);
    expect(t.code).toBe(2);
    expect(t.err).toContain("pairs.jsonl:2: expected UTF-8 text");

    const sft = join(dir, "sft.jsonl");
    await writeFile(sft, latin1Jsonl({ prompt: "p", completion: "c" }, '{"prompt":"é","completion":"c"}'));
    const s = await run([
      "sft",
      "--data",
      sft,
      "--model",
      model,
      "--run-dir",
      join(dir, "run2"),
      "--steps",
      "1",
    ]);
    expect(s.code).toBe(2);
    expect(s.err).toContain("sft.jsonl:2: expected UTF-8 text");

    const problems = join(dir, "problems.jsonl");
    await writeFile(
      problems,
      latin1Jsonl({ id: "a", prompt: "1+1", answer: "2" }, '{"id":"b","prompt":"é","answer":"2"}'),
    );
    const p = await run(["pairs", "--problems", problems, "--model", model, "--out", join(dir, "o.jsonl")]);
    expect(p.code).toBe(2);
    expect(p.err).toContain("problems.jsonl:2: expected UTF-8 text");
  });

  it("a path that does not exist, or a folder where a file is read, is a usage error naming the flag", async () => {
    const dir = await tempDir();
    const missing = await run(["eval", "--responses", join(dir, "nope.jsonl")]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("--responses");
    expect(missing.err).toContain(
      "nope.jsonl: expected an existing file; received a path that does not exist",
    );
    const folder = await run(["eval", "--responses", dir]);
    expect(folder.code).toBe(2);
    expect(folder.err).toContain("expected a file; received a folder");
    await writeFile(join(dir, "p.jsonl"), '{"prompt":"p","chosen":"c","rejected":"r"}\n');
    const noModel = await run([
      "train",
      "--pairs",
      join(dir, "p.jsonl"),
      "--model",
      join(dir, "no-model"),
      "--run-dir",
      join(dir, "run"),
    ]);
    expect(noModel.code).toBe(2);
    expect(noModel.err).toContain("--model");
    expect(noModel.err).toContain("expected an existing folder");
    const noConfig = await run([
      "eval",
      "--responses",
      join(dir, "p.jsonl"),
      "--config",
      join(dir, "c.yaml"),
    ]);
    expect(noConfig.code).toBe(2);
    expect(noConfig.err).toContain("--config");
  });

  it("an empty file is named in the error, for every command that reads records", async () => {
    const dir = await tempDir();
    const empty = join(dir, "empty.jsonl");
    await writeFile(empty, "");
    const model = join(dir, "model");
    await mkdir(model);
    const out = join(dir, "o.jsonl");
    const runDir = join(dir, "r");
    for (const [flag, args] of [
      ["--responses", ["eval", "--responses", empty]],
      ["--stats", ["select", "--stats", empty, "--out", out]],
      ["--pairs", ["train", "--pairs", empty, "--model", model, "--run-dir", runDir, "--steps", "1"]],
      ["--problems", ["pairs", "--problems", empty, "--model", model, "--out", out]],
      ["--data", ["sft", "--data", empty, "--model", model, "--run-dir", runDir, "--steps", "1"]],
    ] as const) {
      const r = await run([...args]);
      expect(r.code, args[0]).toBe(2);
      expect(r.err).toContain(
        `${flag} ${empty}: expected a JSONL file with at least one record; received an empty file`,
      );
    }
    // blank lines only: read, and found to hold nothing
    await writeFile(join(dir, "blank.jsonl"), "\n\n");
    const r = await run(["eval", "--responses", join(dir, "blank.jsonl")]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("blank.jsonl: no responses to grade");
    const t = await run([
      "train",
      "--pairs",
      join(dir, "blank.jsonl"),
      "--model",
      model,
      "--run-dir",
      runDir,
      "--steps",
      "1",
    ]);
    expect(t.code).toBe(2);
    expect(t.err).toContain("blank.jsonl: no valid pairs");
  });

  it("--out is checked before any work: a folder, or a path through a file, exits 2 and writes nothing", async () => {
    const dir = await tempDir();
    const responses = join(dir, "r.jsonl");
    await writeFile(responses, '{"id":1,"response":"\\\\boxed{1}","reference":"1"}\n');
    const outDir = join(dir, "results");
    await mkdir(outDir);
    const r = await run(["eval", "--responses", responses, "--out", outDir]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--out");
    expect(r.err).toContain("expected a file path to write; received a folder");
    expect(r.err).not.toContain("EISDIR");
    expect((await readdir(dir)).sort()).toEqual(["r.jsonl", "results"]);
    expect(await readdir(outDir)).toEqual([]);
    const through = await run(["eval", "--responses", responses, "--out", join(responses, "graded.jsonl")]);
    expect(through.code).toBe(2);
    expect(through.err).toContain("expected a path whose parents are folders");
    // the model commands check their outputs before a model is read or the GPU opens
    const model = join(dir, "model"); // exists, but holds no model: reading it would fail differently
    await mkdir(model);
    const pairs = join(dir, "p.jsonl");
    await writeFile(pairs, '{"prompt":"p","chosen":"c","rejected":"r"}\n');
    const t = await run([
      "train",
      "--pairs",
      pairs,
      "--model",
      model,
      "--run-dir",
      responses,
      "--steps",
      "1",
    ]);
    expect(t.code).toBe(2);
    expect(t.err).toContain("--run-dir");
    expect(t.err).toContain("expected a folder to write into; received a file");
    const p = await run(["pairs", "--problems", pairs, "--model", model, "--out", outDir]);
    expect(p.code).toBe(2);
    expect(p.err).toContain("--out");
    const d = await run(["demo", "--out", responses]);
    expect(d.code).toBe(2);
    expect(d.err).toContain("--out");
  });
});

describe("config files without a known extension are read by content", () => {
  const responsesLine = '{"id":1,"response":"\\\\boxed{1}","reference":"1"}\n';
  it.each([
    ["JSON", '{"grade": {"relTol": 0.001}}', 0, ""],
    ["YAML", "grade:\n  relTol: 0.001\n", 0, ""],
    ["JSON with a bad field", '{"grade": {"relTol": -1}}', 2, 'field "grade.relTol"'],
    ["YAML with a bad field", "grade:\n  relTl: 1\n", 2, "relTl"],
    ["broken JSON", '{"grade": ', 2, "not valid JSON"],
    ["a YAML scalar", "relTol = 1\n", 2, "expected a JSON object or YAML mapping"],
  ])("%s (as from `--config <(…)`)", async (_what, text, code, message) => {
    const dir = await tempDir();
    await writeFile(join(dir, "r.jsonl"), responsesLine);
    await writeFile(join(dir, "63"), text); // /dev/fd/63 has no extension either
    const r = await run(["eval", "--responses", join(dir, "r.jsonl"), "--config", join(dir, "63")]);
    expect(r.code, r.err).toBe(code);
    if (message) expect(r.err).toContain(message);
    else expect(r.out).toContain("pass@1 100.0%");
  });
});
