import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  chatmlTemplate,
  type InvalidLine,
  plainTemplate,
  preferenceDataHash,
  readPreferencePairs,
  renderCompletion,
  streamPreferencePairs,
  TrainerError,
  writePreferencePairs,
} from "../src/index.js";
import { tempDir } from "./helpers/data.js";

async function fileWith(lines: string[], name = "pairs.jsonl"): Promise<string> {
  const dir = await tempDir();
  const path = join(dir, name);
  await writeFile(path, lines.join("\n"));
  return path;
}

async function expectError(p: Promise<unknown>, code: string, ...parts: string[]): Promise<TrainerError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TrainerError);
  const e = error as TrainerError;
  expect(e.code).toBe(code);
  for (const part of parts) expect(e.message).toContain(part);
  return e;
}

describe("preference JSONL reader", () => {
  it("reads TRL standard lines with optional fields and default ids", async () => {
    const path = await fileWith([
      JSON.stringify({ prompt: "2+2?", chosen: "4", rejected: "5", difficulty: 0.25, level: "Level 3" }),
      "",
      JSON.stringify({
        id: 7,
        prompt: "p",
        chosen: "a",
        rejected: "b",
        ref_chosen_logps: -1.5,
        ref_rejected_logps: -2,
      }),
    ]);
    const { pairs, skipped } = await readPreferencePairs(path);
    expect(skipped).toBe(0);
    expect(pairs).toEqual([
      { id: "line:1", prompt: "2+2?", chosen: "4", rejected: "5", difficulty: 0.25, level: 3 },
      { id: "7", prompt: "p", chosen: "a", rejected: "b", refChosenLogps: -1.5, refRejectedLogps: -2 },
    ]);
  });

  it("renders conversational lines through the chat template (explicit and implicit prompt)", async () => {
    const user = { role: "user", content: "What is 2+2?" };
    const path = await fileWith([
      JSON.stringify({
        prompt: [user],
        chosen: [{ role: "assistant", content: "4" }],
        rejected: [{ role: "assistant", content: "5" }],
      }),
      JSON.stringify({
        chosen: [user, { role: "assistant", content: "4" }],
        rejected: [user, { role: "assistant", content: "5" }],
      }),
    ]);
    const { pairs } = await readPreferencePairs(path);
    const expected = {
      prompt: "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
      chosen: "4<|im_end|>\n",
      rejected: "5<|im_end|>\n",
    };
    expect(pairs[0]).toMatchObject(expected);
    expect(pairs[1]).toMatchObject(expected);
    const plain = await readPreferencePairs(path, { template: plainTemplate });
    expect(plain.pairs[0]).toMatchObject({
      prompt: "User: What is 2+2?\nAssistant:",
      chosen: " 4\n",
      rejected: " 5\n",
    });
  });

  it("rejects a template whose prompt rendering is not a prefix of the conversation", () => {
    const broken = () => "different every time" + Math.random();
    expect(() =>
      renderCompletion(broken, [{ role: "user", content: "x" }], [{ role: "assistant", content: "y" }]),
    ).toThrow(/TEMPLATE_INVALID|prefix/);
    expect(renderCompletion(chatmlTemplate, [], [{ role: "assistant", content: "y" }]).completion).toBe(
      "y<|im_end|>\n",
    );
  });

  const badLines: Array<[string, string, string]> = [
    ["{not json", "(line)", "expected one JSON object"],
    ["[1,2]", "(line)", "expected a JSON object"],
    [JSON.stringify({ prompt: "p", rejected: "b" }), "chosen", "received undefined"],
    [JSON.stringify({ prompt: "p", chosen: 5, rejected: "b" }), "chosen", "received 5"],
    [
      JSON.stringify({ prompt: "p", chosen: "a", rejected: "b", difficulty: 1.5 }),
      "difficulty",
      "received 1.5",
    ],
    [
      JSON.stringify({
        prompt: "p",
        chosen: "a",
        rejected: "b",
        ref_chosen_logps: 0.5,
        ref_rejected_logps: -1,
      }),
      "ref_chosen_logps",
      "0.5",
    ],
    [
      JSON.stringify({ prompt: "p", chosen: "a", rejected: "b", ref_chosen_logps: -1 }),
      "ref_rejected_logps",
      "required",
    ],
    [JSON.stringify({ chosen: "a", rejected: "b" }), "prompt", "required"],
    [
      JSON.stringify({
        prompt: [{ role: "user", content: "q" }],
        chosen: [{ role: "robot", content: "a" }],
        rejected: [{ role: "assistant", content: "b" }],
      }),
      "chosen.0.role",
      '"robot"',
    ],
    [
      JSON.stringify({
        prompt: [{ role: "user", content: "q" }],
        chosen: [{ role: "user", content: "a" }],
        rejected: [{ role: "assistant", content: "b" }],
      }),
      "chosen",
      "assistant",
    ],
  ];

  it.each(badLines)("names file, line and field for %s", async (line, field, detail) => {
    const path = await fileWith(
      [JSON.stringify({ prompt: "ok", chosen: "a", rejected: "b" }), line],
      "bad.jsonl",
    );
    await expectError(readPreferencePairs(path), "DATA_INVALID", "bad.jsonl:2:", `field "${field}"`, detail);
  });

  it("skipInvalid reports every bad line and returns the count; duplicates count as bad", async () => {
    const ok = (id: string) => JSON.stringify({ id, prompt: "p", chosen: "a", rejected: "b" });
    const path = await fileWith([
      ok("a"),
      "{oops",
      ok("b"),
      ok("a"),
      JSON.stringify({ prompt: "p", chosen: "x" }),
      ok("c"),
    ]);
    const seen: InvalidLine[] = [];
    const r = await readPreferencePairs(path, { skipInvalid: true, onInvalid: (i) => seen.push(i) });
    expect(r.pairs.map((p) => p.id)).toEqual(["a", "b", "c"]);
    expect(r.skipped).toBe(3);
    expect(r.invalid.map((i) => [i.line, i.field])).toEqual([
      [2, "(line)"],
      [4, "id"],
      [5, "rejected"],
    ]);
    expect(seen).toEqual(r.invalid);
    await expectError(readPreferencePairs(path.replace(/$/, "")), "DATA_INVALID", "pairs.jsonl:2:");
    const noSkip = await fileWith([ok("a"), ok("a")]);
    await expectError(readPreferencePairs(noSkip), "DATA_ID_DUPLICATE", "pairs.jsonl:2:", '"a" again');
  });

  it("streams a large file without reading it whole and handles CRLF", async () => {
    const n = 20_000;
    const lines = Array.from({ length: n }, (_, i) =>
      JSON.stringify({ id: i, prompt: `p${i}`, chosen: "a", rejected: "b" }),
    );
    const path = await fileWith([lines.join("\r\n")]);
    let count = 0;
    let last = "";
    for await (const pair of streamPreferencePairs(path)) {
      count++;
      last = pair.prompt;
    }
    expect(count).toBe(n);
    expect(last).toBe(`p${n - 1}`);
  });

  it("writer round-trips pairs atomically (no temp files left)", async () => {
    const dir = await tempDir();
    const pairs = [
      {
        id: "x",
        prompt: 'p\n"q"',
        chosen: "a",
        rejected: "b",
        difficulty: 0.5,
        level: 2,
        refChosenLogps: -0.1,
        refRejectedLogps: -3.25,
      },
      { id: "y", prompt: "p", chosen: "ünïcode ∑", rejected: "b" },
    ];
    const path = join(dir, "out.jsonl");
    await writePreferencePairs(path, pairs);
    expect((await readPreferencePairs(path)).pairs).toEqual(pairs);
    expect(await readdir(dir)).toEqual(["out.jsonl"]);
    const text = await readFile(path, "utf8");
    expect(text.split("\n")[0]).toContain('"ref_chosen_logps":-0.1');
  });
});

describe("preferenceDataHash", () => {
  const base = [
    { id: "a", prompt: "p", chosen: "x", rejected: "y" },
    { id: "b", prompt: "q", chosen: "z", rejected: "w" },
  ];
  it("ignores difficulty and precomputed log-probs, changes with content, id or order", () => {
    const h = preferenceDataHash(base);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(
      preferenceDataHash(
        base.map((p) => ({ ...p, difficulty: 0.3, refChosenLogps: -1, refRejectedLogps: -2 })),
      ),
    ).toBe(h);
    expect(preferenceDataHash([base[0]!, { ...base[1]!, chosen: "z " }])).not.toBe(h);
    expect(preferenceDataHash([base[0]!, { ...base[1]!, id: "c" }])).not.toBe(h);
    expect(preferenceDataHash([base[1]!, base[0]!])).not.toBe(h);
    expect(() => preferenceDataHash([])).toThrow(TrainerError);
  });
  it("does not depend on the file's formatting", async () => {
    const a = await fileWith([JSON.stringify({ id: "a", prompt: "p", chosen: "x", rejected: "y" })]);
    const b = await fileWith([`{ "rejected" : "y", "chosen": "x",  "prompt": "p", "id": "a", "level": 4 }`]);
    const ha = preferenceDataHash((await readPreferencePairs(a)).pairs);
    expect(preferenceDataHash((await readPreferencePairs(b)).pairs)).toBe(ha);
  });
});
