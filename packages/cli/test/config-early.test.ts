import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { run } from "./helpers.js";

// Every setting is resolved before a file is written or the GPU opens: a bad one exits 2, naming
// the field, and leaves no run folder behind. (None of these runs reaches WebGPU.)

const model = join(dirname(fileURLToPath(import.meta.url)), "..", "assets", "sft-tiny");
let dir: string;
let pairs: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sage-cli-early-"));
  pairs = join(dir, "pairs.jsonl");
  await writeFile(pairs, `${JSON.stringify({ prompt: "1+1=", chosen: "2", rejected: "3" })}\n`);
});

async function train(extra: string[], runName: string) {
  const runDir = join(dir, runName);
  const r = await run([
    "train",
    "--pairs",
    pairs,
    "--model",
    model,
    "--run-dir",
    runDir,
    "--steps",
    "2",
    ...extra,
  ]);
  return { ...r, runDirExists: existsSync(runDir) };
}

describe("sage train validates its configuration before any work", () => {
  it("--selector bogus: exit 2 with the list of selectors, nothing written", async () => {
    const r = await train(["--selector", "bogus"], "a");
    expect(r.code).toBe(2);
    expect(r.err).toContain("--selector: expected one of sage, uniform");
    expect(r.err).toContain('received "bogus"');
    expect(r.err).not.toMatch(/adapter/);
    expect(r.runDirExists).toBe(false);
  });

  it("a selector setting out of range in the config: exit 2 naming the field", async () => {
    const cfg = join(dir, "gmin.yaml");
    await writeFile(cfg, "curriculum: { stability: { gMin: 2 } }\n");
    const r = await train(["--config", cfg], "b");
    expect(r.code).toBe(2);
    expect(r.err).toContain('gmin.yaml: field "curriculum.stability.gMin"');
    expect(r.runDirExists).toBe(false);
  });

  it("a training field out of range: exit 2 naming the field", async () => {
    const cfg = join(dir, "beta.yaml");
    await writeFile(cfg, "train: { beta: -1 }\n");
    const r = await train(["--config", cfg], "c");
    expect(r.code).toBe(2);
    expect(r.err).toContain('beta.yaml: field "train.beta"');
    expect(r.runDirExists).toBe(false);
  });

  it("a selector name in the config that is not one: exit 2", async () => {
    const cfg = join(dir, "sel.yaml");
    await writeFile(cfg, "selector: bogus\n");
    const r = await train(["--config", cfg], "d");
    expect(r.code).toBe(2);
    expect(r.err).toContain("selector");
    expect(r.runDirExists).toBe(false);
  });
});

describe("sage select names the file it cannot use", () => {
  it("a stats file of blank lines: exit 2 naming the file", async () => {
    const blank = join(dir, "blank-stats.jsonl");
    await writeFile(blank, "\n\n  \n");
    const r = await run(["select", "--stats", blank, "--out", join(dir, "sel.jsonl")]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("blank-stats.jsonl: expected at least one statistics line");
  });

  it("a stats line missing a field: exit 2 with file:line and the file's field name", async () => {
    const stats = join(dir, "partial-stats.jsonl");
    await writeFile(
      stats,
      `${JSON.stringify({ id: "a", level: 1, policy_chosen_logp: -1, reference_chosen_logp: -1, reference_rejected_logp: -1, chosen_tokens: 2, rejected_tokens: 2 })}\n`,
    );
    const r = await run(["select", "--stats", stats, "--out", join(dir, "sel2.jsonl")]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('partial-stats.jsonl: line 1: field "policy_rejected_logp"');
    expect(r.err).not.toContain("policyRejected");
  });
});
