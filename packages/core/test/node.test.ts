import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { JsonlError } from "../src/index.js";
import {
  readJsonlFile,
  readTextLines,
  writeFileAtomic,
  writeFileAtomicSync,
  writeJsonAtomic,
} from "../src/node.js";

const root = mkdtempSync(join(tmpdir(), "sage-core-"));
afterAll(() => chmodSync(join(root, "locked"), 0o700));

describe("writeFileAtomic", () => {
  it("creates the parent folders and writes the content", async () => {
    const path = join(root, "a", "b", "c.txt");
    await writeFileAtomic(path, "hello\n");
    expect(readFileSync(path, "utf8")).toBe("hello\n");
    writeFileAtomicSync(join(root, "s", "t.bin"), new Uint8Array([1, 2, 3]).subarray(1));
    expect([...readFileSync(join(root, "s", "t.bin"))]).toEqual([2, 3]);
  });

  it("replaces a file whole and leaves no temp file", async () => {
    const dir = join(root, "replace");
    const path = join(dir, "f.json");
    await writeFileAtomic(path, "x".repeat(10_000));
    await writeJsonAtomic(path, { short: true });
    expect(readFileSync(path, "utf8")).toBe('{\n  "short": true\n}\n');
    writeFileAtomicSync(path, "sync");
    expect(readFileSync(path, "utf8")).toBe("sync");
    expect(readdirSync(dir)).toEqual(["f.json"]);
  });

  it("on failure leaves the old file and no temp file", async () => {
    const dir = join(root, "fail");
    const path = join(dir, "f.txt");
    await writeFileAtomic(path, "old");
    // the target is a folder: the rename over it fails after the temp file was written
    const target = join(dir, "sub");
    await writeFileAtomic(join(target, "inner"), "x");
    await expect(writeFileAtomic(target, "new")).rejects.toThrow();
    expect(() => writeFileAtomicSync(target, "new")).toThrow();
    expect(readFileSync(path, "utf8")).toBe("old");
    expect(readdirSync(dir).sort()).toEqual(["f.txt", "sub"]);
    expect(readdirSync(target)).toEqual(["inner"]);
  });

  it("fails in a folder it cannot write, leaving nothing", async () => {
    const dir = join(root, "locked");
    await writeFileAtomic(join(dir, "keep"), "k");
    chmodSync(dir, 0o500);
    const isRoot = process.getuid?.() === 0;
    if (!isRoot) await expect(writeFileAtomic(join(dir, "new"), "n")).rejects.toThrow();
    chmodSync(dir, 0o700);
    if (!isRoot) expect(readdirSync(dir)).toEqual(["keep"]);
  });
});

describe("readTextLines", () => {
  it("streams numbered lines: BOM and CRLF accepted, a bad byte named by line and position", async () => {
    const path = join(root, "lines.txt");
    writeFileSync(path, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("a\r\n\nb")]));
    const lines: { line: number; text: string }[] = [];
    for await (const l of readTextLines(path)) lines.push(l);
    expect(lines).toEqual([
      { line: 1, text: "a" },
      { line: 2, text: "" },
      { line: 3, text: "b" },
    ]);
    const folder = join(root, "a-folder");
    mkdirSync(folder, { recursive: true });
    const e = await (async () => {
      for await (const _ of readTextLines(folder));
    })().catch((x: unknown) => x);
    expect(e).toMatchObject({
      code: "DATA_MISSING",
      message: expect.stringMatching(/EISDIR \(a folder, not a file\)/),
    });
  });
});

describe("readJsonlFile", () => {
  it("reads a file, naming it in errors", async () => {
    const path = join(root, "rows.jsonl");
    writeFileSync(path, '{"a":1}\n\n{"a":2}\n');
    expect(await readJsonlFile(path)).toEqual([{ a: 1 }, { a: 2 }]);
    writeFileSync(path, '{"a":1}\n{"a":\n');
    const e = await readJsonlFile(path).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(JsonlError);
    expect((e as JsonlError).message).toMatch(/^rows\.jsonl:2: expected one JSON value per line/);
  });

  it("names a missing file and a line that is not UTF-8", async () => {
    await expect(readJsonlFile(join(root, "nope.jsonl"))).rejects.toMatchObject({ code: "DATA_MISSING" });
    const path = join(root, "latin1.jsonl");
    writeFileSync(path, Buffer.concat([Buffer.from('"ok"\n"caf'), Buffer.from([0xe9]), Buffer.from('"\n')]));
    await expect(readJsonlFile(path)).rejects.toMatchObject({
      code: "DATA_INVALID",
      message: expect.stringMatching(
        /^latin1\.jsonl:2: expected UTF-8 text; received the byte 0xE9 at byte 5 /,
      ),
    });
    expect(existsSync(path)).toBe(true);
  });
});
