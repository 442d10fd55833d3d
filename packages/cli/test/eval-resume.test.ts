import { appendFile, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { evalCommand } from "../src/index.js";
import { run } from "./helpers.js";

const tempDir = () => mkdtemp(join(tmpdir(), "sage-eval-resume-"));

/** 12 responses over 5 problems (repeated ids count as samples 0, 1, …), some right, some wrong. */
const RESPONSES = [
  { id: "a", response: "so \\boxed{4}", reference: "4", level: 1 },
  { id: "a", response: "I get \\boxed{5}", reference: "4", level: 1 },
  { id: "b", response: "\\boxed{\\frac{1}{2}}", answer: "0.5", level: 2 },
  { id: "c", response: "the answer is 7", reference: "8", level: 2, subject: "algebra" },
  { id: "c", response: "the answer is 8", reference: "8", level: 2, subject: "algebra" },
  { id: "d", response: "no idea", answer: 3, level: 3 },
  { id: "b", response: "\\boxed{0.5}", answer: "0.5", level: 2 },
  { id: "e", response: "\\boxed{x^2+1}", reference: "1+x^2", level: 3 },
  { id: "a", response: "\\boxed{4}", reference: "4", level: 1 },
  { id: "d", response: "\\boxed{3}", answer: 3, level: 3 },
  { id: "e", response: "\\boxed{x+1}", reference: "1+x^2", level: 3 },
  { id: "c", response: "\\boxed{8.0}", reference: "8", level: 2, subject: "algebra" },
];

async function fixture() {
  const dir = await tempDir();
  const responses = join(dir, "responses.jsonl");
  await writeFile(responses, RESPONSES.map((r) => `${JSON.stringify(r)}\n`).join(""));
  const reference = join(dir, "uninterrupted.jsonl");
  const full = await run(["eval", "--responses", responses, "--out", reference]);
  expect(full.code, full.err).toBe(0);
  return { dir, responses, reference, expected: await readFile(reference, "utf8") };
}

/** Run `evalCommand` and make it "crash" right after item `crashAfter` (0-based) is written. */
async function crashAfter(
  responses: string,
  out: string,
  crashAfter: number,
  resume = false,
): Promise<number[]> {
  const graded: number[] = [];
  await expect(
    evalCommand({
      responses,
      out,
      resume,
      onRecord: (_record, index) => {
        graded.push(index);
        if (index === crashAfter) throw new Error("simulated crash");
      },
    }),
  ).rejects.toThrow("simulated crash");
  return graded;
}

const withoutTime = (summaryText: string) => {
  const { elapsedMs: _, ...rest } = JSON.parse(summaryText) as { elapsedMs: number };
  return rest;
};

describe("sage eval streams its records and --resume finishes an interrupted run", () => {
  it("the uninterrupted run writes one line per response", async () => {
    const { expected } = await fixture();
    expect(expected.split("\n")).toHaveLength(RESPONSES.length + 1);
    expect(expected.endsWith("\n")).toBe(true);
  });

  it("after a crash the finished records are on disk; --resume grades only the rest and gives the same file", async () => {
    const { dir, responses, reference, expected } = await fixture();
    const out = join(dir, "graded.jsonl");
    await crashAfter(responses, out, 4);
    const partial = await readFile(out, "utf8");
    // streamed: the 5 finished records are there, exactly as the uninterrupted run wrote them
    expect(partial).toBe(expected.split("\n").slice(0, 5).join("\n") + "\n");

    const graded: number[] = [];
    const resumed = await evalCommand({ responses, out, resume: true, onRecord: (_r, i) => graded.push(i) });
    expect(graded).toEqual([5, 6, 7, 8, 9, 10, 11]);
    expect(resumed.resumed).toBe(5);
    expect(await readFile(out, "utf8")).toBe(expected);
    expect(withoutTime(await readFile(`${out}.summary.json`, "utf8"))).toEqual(
      withoutTime(await readFile(`${reference}.summary.json`, "utf8")),
    );
  });

  it("survives two crashes and a torn last line, through the CLI", async () => {
    const { dir, responses, expected } = await fixture();
    const out = join(dir, "graded.jsonl");
    await crashAfter(responses, out, 2);
    expect(await crashAfter(responses, out, 7, true)).toEqual([3, 4, 5, 6, 7]);
    // the process died in the middle of writing record 8 (and of a multi-byte character)
    const torn = Buffer.from('{"id":"a","benchmark":"responses","sample":2,"prompt":"');
    await appendFile(out, Buffer.concat([torn, Buffer.from([0xe2, 0x82])]));
    const r = await run(["eval", "--responses", responses, "--out", out, "--resume"]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain("resumed: 8 records were already graded");
    expect(r.out).toContain("over 5 problems (12 samples)");
    expect(await readFile(out, "utf8")).toBe(expected);
  });

  it("--resume with nothing to resume from grades everything; with everything done grades nothing", async () => {
    const { dir, responses, expected } = await fixture();
    const out = join(dir, "fresh.jsonl");
    const r = await run(["eval", "--responses", responses, "--out", out, "--resume"]);
    expect(r.code, r.err).toBe(0);
    expect(await readFile(out, "utf8")).toBe(expected);
    const graded: number[] = [];
    const again = await evalCommand({ responses, out, resume: true, onRecord: (_r, i) => graded.push(i) });
    expect(graded).toEqual([]);
    expect(again.resumed).toBe(RESPONSES.length);
    expect(await readFile(out, "utf8")).toBe(expected);
  });

  it("refuses to resume from the records of other responses, or without --out (exit 2)", async () => {
    const { dir, responses } = await fixture();
    const out = join(dir, "graded.jsonl");
    await crashAfter(responses, out, 3);
    const other = join(dir, "other.jsonl");
    await writeFile(
      other,
      RESPONSES.slice(1)
        .map((x) => `${JSON.stringify(x)}\n`)
        .join(""),
    );
    const r = await run(["eval", "--responses", other, "--out", out, "--resume"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--resume: graded.jsonl:1 holds "a" sample 0');
    expect(r.err).toContain("drop --resume to start over");
    const shorter = join(dir, "shorter.jsonl");
    await writeFile(
      shorter,
      RESPONSES.slice(0, 2)
        .map((x) => `${JSON.stringify(x)}\n`)
        .join(""),
    );
    const s = await run(["eval", "--responses", shorter, "--out", out, "--resume"]);
    expect(s.code).toBe(2);
    expect(s.err).toContain("holds 4 records but shorter.jsonl has 2 responses");
    await writeFile(join(dir, "junk.jsonl"), '{"not":"a record"}\n');
    const junk = await run(["eval", "--responses", responses, "--out", join(dir, "junk.jsonl"), "--resume"]);
    expect(junk.code).toBe(2);
    expect(junk.err).toContain("junk.jsonl:1: expected a graded record");
    const noOut = await run(["eval", "--responses", responses, "--resume"]);
    expect(noOut.code).toBe(2);
    expect(noOut.err).toContain("--resume needs --out <file>");
  });
});
