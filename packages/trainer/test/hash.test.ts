import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sha256 } from "../src/index.js";

const node = (d: string | Uint8Array) => createHash("sha256").update(d).digest("hex");

describe("sha256 (plain TypeScript, the same in a browser)", () => {
  it("matches FIPS 180-4 test vectors", () => {
    expect(sha256("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(sha256("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
  });

  it("matches node:crypto at every padding boundary and on views into larger buffers", () => {
    for (const n of [1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000]) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 131 + 7) & 255);
      expect(sha256(b), `${n} bytes`).toBe(node(b));
      const big = new Uint8Array(n + 8);
      big.set(b, 3);
      expect(sha256(big.subarray(3, 3 + n)), `${n} bytes at offset 3`).toBe(node(b));
    }
  });

  it("matches node:crypto on random strings (UTF-8) and bytes", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 300 }), (s) => sha256(s) === node(s)));
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => sha256(b) === node(b)));
  });
});
