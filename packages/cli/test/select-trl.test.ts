import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { readSelectionJsonl } from "@sage/curriculum";
import { describe, expect, it } from "vitest";
import { serveSelect } from "../src/commands/select.js";
import { run } from "./helpers.js";

const tempDir = () => mkdtemp(join(tmpdir(), "sage-select-"));

/** A seeded uniform in [0, 1) from a string (FNV-1a + LCG; test-only stand-in for a model). */
function unit(key: string, salt: number): number {
  let h = 0x811c9dc5 ^ salt;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h = (Math.imul(h >>> 0, 1664525) + 1013904223) >>> 0;
  return h / 2 ** 32;
}

/** TRL pairs: every third line without an id, levels 1–5 (difficulty input). */
function trlPairs(n: number): string {
  let text = "";
  for (let i = 0; i < n; i++) {
    const row: Record<string, unknown> = {
      prompt: `What is ${i} + ${i}?`,
      chosen: ` ${2 * i}`,
      rejected: ` ${2 * i + 1}`,
      level: 1 + (i % 5),
    };
    if (i % 3 !== 0) row.id = `q${i}`;
    text += `${JSON.stringify(row)}\n`;
  }
  return text;
}

interface PlanLine {
  id: string;
  pair_key: number;
  refresh: number;
  perturbation: { kind: string; k: number } | null;
}

/** Stand-in scorer: statistics for each planned pair (what a policy forward pass would give). */
function standInScores(plan: PlanLine[], refresh = plan[0]?.refresh ?? 0): string {
  return plan
    .map((p) => {
      const e = unit(p.id, refresh) - 0.5;
      const k = p.perturbation?.k ?? 0;
      return `${JSON.stringify({
        id: p.id,
        policy_chosen_logp: -10 + 10 * e,
        policy_rejected_logp: -10 - 10 * e,
        reference_chosen_logp: -10,
        reference_rejected_logp: -10,
        chosen_tokens: 10,
        rejected_tokens: 10,
        ...(k > 0
          ? {
              perturbed_margins: Array.from(
                { length: k },
                (_, j) => 2 * e + 0.1 * (unit(p.id, 100 + j) - 0.5),
              ),
            }
          : {}),
      })}\n`;
    })
    .join("");
}

const lines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l));

describe("sage select with TRL pairs: --plan → --scores → batches and rows", () => {
  it("plans, selects from the planned scores only, writes TRL rows, and continues with the same config", async () => {
    const dir = await tempDir();
    const pairs = join(dir, "train.jsonl");
    await writeFile(pairs, trlPairs(120));
    const cfg = join(dir, "sage.yaml");
    await writeFile(cfg, "curriculum:\n  batchSize: 4\n  refreshEvery: 3\n  seed: 2\n");
    const state = join(dir, "state.json");
    const plan = join(dir, "plan.jsonl");
    const scores = join(dir, "scores.jsonl");
    const common = ["select", "--pairs", pairs, "--config", cfg, "--state", state];
    const rounds: { ids: string[]; rows: Record<string, unknown>[] }[] = [];
    for (let round = 0; round < 3; round++) {
      let p = await run([...common, "--plan", "--out", plan]);
      expect(p.code, p.err).toBe(0);
      // a competence probe round first (only with competence: "probe"): score it and plan again
      for (let guard = 0; lines(await readFile(plan, "utf8"))[0]?.kind === "probe" && guard < 3; guard++) {
        await writeFile(scores, standInScores(lines(await readFile(plan, "utf8"))));
        const s = await run([...common, "--scores", scores, "--out", join(dir, "b.jsonl")]);
        expect(s.code, s.err).toBe(0);
        p = await run([...common, "--plan", "--out", plan]);
      }
      expect(p.out).toMatch(/plan: refresh \d+ at step \d+: score 24 pairs \(pool\)/);
      // planning again is idempotent
      const planText = await readFile(plan, "utf8");
      expect((await run([...common, "--plan", "--out", plan])).code).toBe(0);
      expect(await readFile(plan, "utf8")).toBe(planText);
      const planned = lines(planText) as (PlanLine & Record<string, unknown>)[];
      expect(planned).toHaveLength(24);
      for (const q of planned) {
        expect(typeof q.prompt).toBe("string");
        expect(q.perturbation).toMatchObject({ kind: "token-dropout", k: 4, rho: 0.1 });
        expect(Number.isInteger(q.pair_key)).toBe(true);
      }
      await writeFile(scores, standInScores(planned));
      const rowsFile = join(dir, `rows-${round}.jsonl`);
      const sel = join(dir, `sel-${round}.jsonl`);
      const s = await run([...common, "--scores", scores, "--out", sel, "--rows", rowsFile]);
      expect(s.code, s.err).toBe(0);
      expect(s.out).toMatch(/selected 3 batches \(steps \d+–\d+\) continuing from the state file/);
      expect(s.out).toMatch(/next: refresh \d+ at step \d+ needs 24 pairs scored/);
      const batches = readSelectionJsonl(await readFile(sel, "utf8"));
      const ids = batches.flatMap((b) => b.ids);
      expect(new Set(ids).size).toBe(ids.length);
      const plannedIds = new Set(planned.map((q) => q.id));
      for (const id of ids) expect(plannedIds.has(id)).toBe(true);
      const rows = lines(await readFile(rowsFile, "utf8"));
      expect(rows.map((r) => r.id)).toEqual(ids);
      expect(rows.map((r) => r.step)).toEqual(batches.flatMap((b) => b.ids.map(() => b.step)));
      for (const r of rows) expect(Object.keys(r)).toEqual(["prompt", "chosen", "rejected", "id", "step"]);
      rounds.push({ ids, rows });
    }
    // id-less lines got line:<n>, and their text is that line's
    const all = rounds.flatMap((r) => r.rows);
    const lineIds = all.filter((r) => String(r.id).startsWith("line:"));
    expect(lineIds.length).toBeGreaterThan(0);
    for (const r of lineIds) {
      const i = Number(String(r.id).slice(5)) - 1;
      expect(i % 3).toBe(0);
      expect(r.prompt).toBe(`What is ${i} + ${i}?`);
    }
    // the steps continue across calls
    expect(all.map((r) => r.step)).toEqual([...all.map((r) => r.step as number)].sort((a, b) => a - b));
  });

  it("a differing config or selector is a usage error naming the field", async () => {
    const dir = await tempDir();
    const pairs = join(dir, "train.jsonl");
    await writeFile(pairs, trlPairs(40));
    const state = join(dir, "state.json");
    const base = ["select", "--pairs", pairs, "--state", state, "--plan", "--out", join(dir, "p.jsonl")];
    expect((await run([...base, "--batch-size", "4", "--seed", "1"])).code).toBe(0);
    expect((await run([...base, "--batch-size", "4", "--seed", "1"])).code).toBe(0);
    expect((await run(base)).code).toBe(0);
    const bad = await run([...base, "--batch-size", "4", "--seed", "2"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("already holds the selector config");
    expect(bad.err).toContain('"seed": the state holds 1, this call asks for 2');
    expect(bad.err).not.toContain("batchSize");
    // a pairs file whose lines moved no longer fits the state
    await writeFile(pairs, trlPairs(40).split("\n").reverse().join("\n"));
    const moved = await run(base);
    expect(moved.code).toBe(2);
    expect(moved.err).toMatch(
      /--state state\.json: selectPairs state: the dataset's ids or their order differ/,
    );
    await writeFile(pairs, trlPairs(40));
    const sel = await run([...base, "--selector", "uniform"]);
    expect(sel.code).toBe(2);
    expect(sel.err).toMatch(
      /selector name: expected "sage" \(the state's selector\) or none, received "uniform"/,
    );
  });

  it("never repeats a pair within a call when the batch size exceeds the eligible pairs", async () => {
    const dir = await tempDir();
    const pairs = join(dir, "train.jsonl");
    await writeFile(pairs, trlPairs(10));
    const state = join(dir, "state.json");
    const plan = join(dir, "plan.jsonl");
    const scores = join(dir, "scores.jsonl");
    const common = ["select", "--pairs", pairs, "--state", state, "--batch-size", "32"];
    for (let call = 0; call < 4; call++) {
      let sel = join(dir, `sel-${call}.jsonl`);
      for (let guard = 0; guard < 3; guard++) {
        expect((await run([...common, "--plan", "--out", plan])).code).toBe(0);
        await writeFile(scores, standInScores(lines(await readFile(plan, "utf8"))));
        sel = join(dir, `sel-${call}-${guard}.jsonl`);
        const r = await run([...common, "--scores", scores, "--out", sel]);
        expect(r.code, r.err).toBe(0);
        if (!r.out.startsWith("selected 0 batches")) break;
      }
      const ids = readSelectionJsonl(await readFile(sel, "utf8")).flatMap((b) => b.ids);
      expect(ids.length).toBeGreaterThan(0);
      expect(ids.length).toBeLessThanOrEqual(10);
      expect(new Set(ids).size, ids.join(",")).toBe(ids.length);
    }
  });

  it("without scores for the due refresh it says to run --plan; bad inputs name file, line and field", async () => {
    const dir = await tempDir();
    const pairs = join(dir, "train.jsonl");
    await writeFile(pairs, trlPairs(30));
    const out = join(dir, "o.jsonl");
    const none = await run(["select", "--pairs", pairs, "--out", out]);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(
      /refresh 1 at step 0 needs statistics for \d+ pairs .*no --scores given.*sage select --plan/,
    );
    const trlAsStats = await run(["select", "--stats", pairs, "--out", out]);
    expect(trlAsStats.code).toBe(2);
    expect(trlAsStats.err).toContain('train.jsonl: line 1: field "id"');
    expect(trlAsStats.err).toContain("sage select --pairs");
    const both = await run(["select", "--pairs", pairs, "--stats", pairs, "--out", out]);
    expect(both.code).toBe(2);
    expect(both.err).toContain("expected exactly one of --pairs");
    const rowsWithStats = await run(["select", "--stats", pairs, "--rows", out, "--out", out]);
    expect(rowsWithStats.code).toBe(2);
    expect(rowsWithStats.err).toContain("--rows writes TRL rows and needs their text");
    await writeFile(join(dir, "bad.jsonl"), `${trlPairs(2)}{"prompt": "x", "chosen": "y"}\n`);
    const bad = await run(["select", "--pairs", join(dir, "bad.jsonl"), "--out", out]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain(
      'bad.jsonl: line 3: field "rejected": expected a non-empty string or message list',
    );
    const unknown = join(dir, "s.jsonl");
    await writeFile(
      unknown,
      '{"id": "nope", "policy_chosen_logp": -1, "policy_rejected_logp": -1, "reference_chosen_logp": -1, "reference_rejected_logp": -1, "chosen_tokens": 1, "rejected_tokens": 1}\n',
    );
    const u = await run(["select", "--pairs", pairs, "--scores", unknown, "--out", out]);
    expect(u.code).toBe(2);
    expect(u.err).toContain('s.jsonl: ids not in train.jsonl: "nope"');
  });
});

// biome-ignore lint/suspicious/noExplicitAny: replies are free-form JSON checked field by field below
type Reply = Record<string, any>;

/** Drive `serveSelect` in-process: write request lines, read one reply per line. */
async function serve(args: Parameters<typeof serveSelect>[0], requests: unknown[]): Promise<Reply[]> {
  const input = new PassThrough();
  let out = "";
  const done = serveSelect(args, { input, write: (l) => (out += l) });
  for (const r of requests) input.write(`${typeof r === "string" ? r : JSON.stringify(r)}\n`);
  input.end();
  const handled = await done;
  const replies = lines(out);
  expect(replies).toHaveLength(handled);
  return replies;
}

describe("sage select --serve", () => {
  it("answers plan / scores / next over JSON lines, reports errors with a code and keeps serving", async () => {
    const dir = await tempDir();
    const pairs = join(dir, "train.jsonl");
    await writeFile(pairs, trlPairs(120));
    const state = join(dir, "state.json");
    const opts = { pairs, state, batchSize: 4, seed: 2, selector: "sage" };
    const first = await serve(opts, [{ op: "plan" }]);
    let plan = first[0]!.plan;
    // answer a probe round first if the config has one
    const warm: unknown[] = [];
    if (plan.kind === "probe") {
      warm.push(
        {
          op: "scores",
          scores: lines(
            standInScores(
              plan.pairs.map((p: PlanLine) => ({
                ...p,
                refresh: plan.refresh,
                perturbation: plan.perturbation,
              })),
            ),
          ),
        },
        { op: "next" },
      );
      const w = await serve(opts, warm);
      plan = w[1]!.pending;
    }
    expect(plan.kind).toBe("pool");
    const planned = plan.pairs.map((p: PlanLine) => ({
      ...p,
      refresh: plan.refresh,
      perturbation: plan.perturbation,
    }));
    const scores = lines(standInScores(planned));
    const replies = await serve(opts, [
      { op: "plan" },
      "{not json",
      { op: "fly" },
      { op: "next" }, // nothing scored yet: stops at once with the pending plan
      { op: "scores", scores: scores.slice(0, 5) },
      { op: "next" }, // only 5 of the planned pairs scored
      {
        op: "scores",
        scores: [
          {
            id: "nope",
            policy_chosen_logp: -1,
            policy_rejected_logp: -1,
            reference_chosen_logp: -1,
            reference_rejected_logp: -1,
            chosen_tokens: 1,
            rejected_tokens: 1,
          },
        ],
      },
      { op: "scores", scores: [{ id: scores[0].id, chosen_tokens: 0 }] },
      { op: "scores", scores: scores.slice(5) },
      { op: "next" },
      { op: "next", steps: 0 },
      { op: "state" },
    ]);
    expect(replies.map((r) => [r.op, r.ok])).toEqual([
      ["plan", true],
      [null, false],
      ["fly", false],
      ["next", true],
      ["scores", true],
      ["next", false],
      ["scores", false],
      ["scores", false],
      ["scores", true],
      ["next", true],
      ["next", false],
      ["state", true],
    ]);
    expect(replies[0]!.plan).toEqual(plan);
    expect(replies[1]!.error.code).toBe("REQUEST_INVALID");
    expect(replies[2]!.error.message).toContain(
      '"op": expected "plan", "scores", "next" or "state", received "fly"',
    );
    expect(replies[3]!.batches).toEqual([]);
    expect(replies[3]!.pending).toEqual(plan);
    expect(replies[4]).toMatchObject({ received: 5, missing: planned.length - 5 });
    expect(replies[5]!.error.code).toBe("STATS_MISSING");
    expect(replies[5]!.error.message).toContain(`statistics are missing for ${planned.length - 5} of them`);
    expect(replies[6]!.error.message).toContain('ids not in the pairs file: "nope"');
    expect(replies[7]!.error.message).toContain(
      'scores[0]: field "chosen_tokens": expected an integer ≥ 1, received 0',
    );
    expect(replies[8]).toMatchObject({ received: planned.length - 5, missing: 0 });
    const next = replies[9]!;
    const ids = (next.batches as string[][]).flat();
    expect(next.batches.length).toBe(Math.min(25, Math.floor(planned.length / 4)));
    expect(new Set(ids).size).toBe(ids.length);
    expect(next.rows.map((r: { id: string }) => r.id)).toEqual(ids);
    expect(Object.keys(next.rows[0])).toEqual(["prompt", "chosen", "rejected", "id", "step"]);
    expect(next.pending.refresh).toBe(plan.refresh + 1);
    expect(replies[10]!.error.message).toContain('"steps": expected an integer ≥ 1, received 0');
    // the state file was kept up to date: a one-shot --plan continues from it
    const saved = JSON.parse(await readFile(state, "utf8"));
    expect(saved).toEqual(replies[11]!.state);
    const p = await run([
      "select",
      "--pairs",
      pairs,
      "--state",
      state,
      "--plan",
      "--out",
      join(dir, "p.jsonl"),
    ]);
    expect(p.code, p.err).toBe(0);
    expect(lines(await readFile(join(dir, "p.jsonl"), "utf8")).map((l) => l.id)).toEqual(
      next.pending.pairs.map((q: { id: string }) => q.id),
    );
  });

  it("refuses one-shot output options", async () => {
    await expect(
      serveSelect({ pairs: "x", out: "y" }, { input: new PassThrough(), write: () => {} }),
    ).rejects.toThrow(/--serve answers on stdout: drop --out/);
  });
});
