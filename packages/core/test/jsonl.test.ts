import { describe, expect, it } from "vitest";
import {
  expectJsonObject,
  isInputError,
  JsonlError,
  jsonlLines,
  parseJsonl,
  SageError,
} from "../src/index.js";

function thrown(f: () => unknown): JsonlError {
  try {
    f();
  } catch (e) {
    if (e instanceof JsonlError) return e;
    throw e;
  }
  throw new Error("did not throw");
}

describe("parseJsonl", () => {
  it("parses one value per line, skipping blank lines, BOM and \\r\\n", () => {
    expect(parseJsonl('\uFEFF{"a":1}\r\n\n   \n[2]\n"x"\n')).toEqual([{ a: 1 }, [2], "x"]);
    expect(parseJsonl("")).toEqual([]);
  });

  it("passes each value and its 1-based line through map", () => {
    const seen: number[] = [];
    const out = parseJsonl("1\n\n2\n3", {
      map: (v, line) => {
        seen.push(line);
        return (v as number) * 10;
      },
    });
    expect(out).toEqual([10, 20, 30]);
    expect(seen).toEqual([1, 3, 4]);
  });

  it("names source, line, what was expected and what was received", () => {
    const e = thrown(() => parseJsonl('{"ok":true}\n\n{oops', { source: "pairs.jsonl" }));
    expect(e).toBeInstanceOf(SageError);
    expect(e.code).toBe("JSONL_INVALID");
    expect(isInputError(e)).toBe(true);
    expect(e.source).toBe("pairs.jsonl");
    expect(e.line).toBe(3);
    expect(e.expected).toBe("one JSON value per line");
    expect(e.received).toContain('"{oops"');
    expect(e.message).toMatch(/^pairs\.jsonl:3: expected one JSON value per line, received "\{oops" \(/);
    expect(e.cause).toBeInstanceOf(SyntaxError);
  });

  it("defaults the source to `input` and counts lines after \\r\\n", () => {
    expect(thrown(() => parseJsonl("1\r\n2\r\nnope")).message).toMatch(/^input:3: /);
  });

  it("lets map reject a line with a JsonlError or an error of its own", () => {
    const e = thrown(() =>
      parseJsonl("{}\n[1]", { source: "f", map: (v, line) => expectJsonObject(v, line, "f") }),
    );
    expect(e.message).toBe("f:2: expected a JSON object, received [1]");
    class Own extends Error {}
    expect(() =>
      parseJsonl("1", {
        map: () => {
          throw new Own("no");
        },
      }),
    ).toThrow(Own);
  });

  it("jsonlLines yields the non-blank lines with their numbers", () => {
    expect([...jsonlLines("a\n\nb\r\n")]).toEqual([
      { line: 1, text: "a" },
      { line: 3, text: "b" },
    ]);
  });
});
