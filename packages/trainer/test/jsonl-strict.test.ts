import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { readJsonlLines, readPreferencePairs, TrainerError } from "../src/index.js";
import { readTextLines } from "../src/jsonl.js";

const dir = await mkdtemp(join(tmpdir(), "sage-jsonl-strict-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function file(name: string, bytes: Uint8Array | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

async function collect<T>(gen: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of gen) out.push(x);
  return out;
}

async function trainerError(p: Promise<unknown>): Promise<TrainerError> {
  const e = await p.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(e).toBeInstanceOf(TrainerError);
  return e as TrainerError;
}

const pair = (id: string, extra = "") => `{"id":"${id}","prompt":"p${extra}","chosen":"c","rejected":"r"}\n`;

describe("strict UTF-8 JSONL reading", () => {
  it("rejects a Latin-1 byte with file, line and byte position instead of replacing it", async () => {
    const bytes = Buffer.concat([
      Buffer.from(pair("a")),
      Buffer.from('{"id":"b","prompt":"caf'),
      Buffer.from([0xe9]),
      Buffer.from('","chosen":"c","rejected":"r"}\n'),
    ]);
    const path = await file("latin1.jsonl", bytes);
    const e = await trainerError(readPreferencePairs(path));
    expect(e.code).toBe("DATA_INVALID");
    expect(e.message).toContain("latin1.jsonl:2:");
    expect(e.message).toContain("expected UTF-8");
    expect(e.message).toContain("0xE9 at byte 24");
    // skipInvalid does not turn a wrong encoding into skipped lines
    const e2 = await trainerError(readPreferencePairs(path, { skipInvalid: true }));
    expect(e2.message).toContain("latin1.jsonl:2:");
    const schema = z.object({ id: z.string() }).passthrough();
    const e3 = await trainerError(collect(readJsonlLines(path, schema)));
    expect(e3.message).toContain("latin1.jsonl:2:");
  });

  it("rejects a multi-byte sequence cut short at the end of a line", async () => {
    const path = await file("cut.jsonl", Buffer.concat([Buffer.from('{"id":"x'), Buffer.from([0xe2, 0x82])]));
    const e = await trainerError(collect(readTextLines(path)));
    expect(e.message).toContain("cut.jsonl:1:");
    expect(e.message).toContain("0xE2 at byte 9");
  });

  it("keeps valid multi-byte text, CRLF line ends and a BOM, across the stream's 64 KiB chunks", async () => {
    // 7-byte groups over > 64 KiB: the read stream's chunk boundary falls inside a character
    const long = "€𝔸".repeat(20_000);
    const text = `\uFEFF${pair("é", long).replace("\n", "\r\n")}${pair("ü")}`;
    const path = await file("ok.jsonl", text);
    const lines = await collect(readTextLines(path));
    expect(lines.map((l) => l.line)).toEqual([1, 2]);
    expect(lines[0]!.text).toBe(pair("é", long).trimEnd());
    const { pairs } = await readPreferencePairs(path);
    expect(pairs.map((p) => p.id)).toEqual(["é", "ü"]);
    expect(pairs[0]!.prompt).toBe(`p${long}`);
  });

  it("names a missing path or a folder as an input error (DATA_INVALID)", async () => {
    const missing = join(dir, "nope.jsonl");
    const e = await trainerError(readPreferencePairs(missing));
    expect(e.code).toBe("DATA_INVALID");
    expect(e.message).toContain("nope.jsonl");
    expect(e.message).toContain("ENOENT");
    const folder = join(dir, "folder.jsonl");
    await mkdir(folder);
    const e2 = await trainerError(collect(readTextLines(folder)));
    expect(e2.code).toBe("DATA_INVALID");
    expect(e2.message).toContain("EISDIR");
  });
});
