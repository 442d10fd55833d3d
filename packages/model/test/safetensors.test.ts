import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  floatToBf16,
  floatToHalf,
  halfToFloat,
  ModelError,
  parseSafetensors,
  SafetensorsFile,
  serializeSafetensors,
  writeSafetensorsFile,
} from "../src/index.js";
import { codeOf } from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "sage-model-st-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Build a file from a raw header object and data bytes (for corrupt-file tests). */
function rawFile(header: unknown, data: Uint8Array, headerLen?: number): Uint8Array {
  const h = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe("safetensors writer", () => {
  it("writes the layout Python safetensors reads: u64 LE length, JSON header padded with spaces to 8", () => {
    const bytes = serializeSafetensors(
      [
        { name: "a", shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
        { name: "b", shape: [3], data: Float32Array.from([0.5, -1, 2]), dtype: "F16" },
      ],
      { format: "pt" },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text.trimEnd().length).toBeLessThanOrEqual(n);
    expect(/^\{.*\} *$/.test(text)).toBe(true);
    const header = JSON.parse(text);
    expect(header.__metadata__).toEqual({ format: "pt" });
    expect(header.a).toEqual({ dtype: "F32", shape: [2, 3], data_offsets: [0, 24] });
    expect(header.b).toEqual({ dtype: "F16", shape: [3], data_offsets: [24, 30] });
    expect(bytes.length).toBe(8 + n + 30);
    expect(new DataView(bytes.buffer).getFloat32(8 + n + 4, true)).toBe(2);
  });

  it("round-trips F32 exactly and F16/BF16 within their rounding, through a file", () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: -1000, max: 1000, noNaN: true, noDefaultInfinity: true }), {
          minLength: 0,
          maxLength: 40,
        }),
        (vals) => {
          const data = Float32Array.from(vals);
          const bytes = serializeSafetensors([
            { name: "x", shape: [data.length], data },
            { name: "h", shape: [data.length], data, dtype: "F16" },
            { name: "g", shape: [1, data.length], data, dtype: "BF16" },
          ]);
          const st = parseSafetensors(bytes);
          expect(st.tensor("x").data).toEqual(data);
          const h = st.tensor("h").data;
          const g = st.tensor("g").data;
          for (let i = 0; i < data.length; i++) {
            const v = data[i] as number;
            // F16: 11-bit significand → relative error ≤ 2^-11 (normal range), absolute ≤ 2^-25 (subnormal).
            expect(Math.abs((h[i] as number) - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -25);
            // BF16: 8-bit significand → relative error ≤ 2^-8 (normal), absolute ≤ 2^-134 (subnormal).
            expect(Math.abs((g[i] as number) - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -8 + 2 ** -133);
          }
        },
      ),
      { seed: 42, numRuns: 50 },
    );
    const path = join(tmp, "rt.safetensors");
    const data = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 1e3);
    writeSafetensorsFile(path, [{ name: "w", shape: [10, 100], data }]);
    expect(readdirSync(tmp).filter((f) => f.includes(".tmp-"))).toEqual([]);
    using f = SafetensorsFile.open(path);
    expect(f.names).toEqual(["w"]);
    expect(f.readFloat32("w").shape).toEqual([10, 100]);
    expect(f.readFloat32("w").data).toEqual(data);
    expect(f.header.metadata).toEqual({ format: "pt" });
  });

  it("converts half and bfloat16 bit patterns exactly", () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x7c00)).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(halfToFloat(0x7e00))).toBe(true);
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(1e6)).toBe(0x7c00);
    expect(floatToHalf(2 ** -24)).toBe(1);
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(floatToBf16(1)).toBe(0x3f80);
    expect(floatToBf16(-2)).toBe(0xc000);
    for (let h = 0; h < 0x7c00; h += 7) expect(floatToHalf(halfToFloat(h))).toBe(h);
  });

  it("refuses duplicate names and shape/data mismatches", () => {
    const d = new Float32Array(2);
    expect(
      codeOf(() =>
        serializeSafetensors([
          { name: "a", shape: [2], data: d },
          { name: "a", shape: [2], data: d },
        ]),
      ),
    ).toBe("INPUT_INVALID");
    expect(codeOf(() => serializeSafetensors([{ name: "a", shape: [3], data: d }]))).toBe(
      "TENSOR_SHAPE_MISMATCH",
    );
  });
});

describe("safetensors reader rejects bad files with typed errors", () => {
  const f32 = (n: number) => new Uint8Array(4 * n);
  const ok = { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };
  it.each<[string, Uint8Array, string]>([
    ["empty file", new Uint8Array(0), "SAFETENSORS_TRUNCATED"],
    ["5-byte file", new Uint8Array(5), "SAFETENSORS_TRUNCATED"],
    ["header longer than the file", rawFile(ok, f32(2), 10_000), "SAFETENSORS_TRUNCATED"],
    ["header length above the cap", rawFile(ok, f32(2), 2 ** 40), "SAFETENSORS_INVALID"],
    ["header not JSON", rawFile("{not json", f32(2)), "SAFETENSORS_INVALID"],
    ["header an array", rawFile("[1,2]", f32(0)), "SAFETENSORS_INVALID"],
    [
      "unknown dtype",
      rawFile({ a: { dtype: "F8", shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)),
      "DTYPE_UNSUPPORTED",
    ],
    [
      "negative dim",
      rawFile({ a: { dtype: "F32", shape: [-2], data_offsets: [0, 8] } }, f32(2)),
      "SAFETENSORS_INVALID",
    ],
    [
      "fractional dim",
      rawFile({ a: { dtype: "F32", shape: [1.5], data_offsets: [0, 8] } }, f32(2)),
      "SAFETENSORS_INVALID",
    ],
    [
      "byte count ≠ shape",
      rawFile({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, f32(2)),
      "SAFETENSORS_INVALID",
    ],
    [
      "end beyond data (truncated)",
      rawFile({ a: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, f32(2)),
      "SAFETENSORS_TRUNCATED",
    ],
    [
      "end < begin",
      rawFile({ a: { dtype: "F32", shape: [0], data_offsets: [8, 0] } }, f32(2)),
      "SAFETENSORS_INVALID",
    ],
    [
      "overlap",
      rawFile(
        {
          a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
          b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
        },
        f32(3),
      ),
      "SAFETENSORS_INVALID",
    ],
    [
      "gap",
      rawFile({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, f32(2)),
      "SAFETENSORS_INVALID",
    ],
    ["trailing bytes", rawFile(ok, f32(3)), "SAFETENSORS_INVALID"],
    ["metadata not strings", rawFile({ ...ok, __metadata__: { a: 1 } }, f32(2)), "SAFETENSORS_INVALID"],
    [
      "offsets not a pair",
      rawFile({ a: { dtype: "F32", shape: [2], data_offsets: [0] } }, f32(2)),
      "SAFETENSORS_INVALID",
    ],
    [
      "huge shape overflow",
      rawFile({ a: { dtype: "F32", shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } }, f32(2)),
      "SAFETENSORS_INVALID",
    ],
  ])("%s", (_name, bytes, code) => {
    expect(codeOf(() => parseSafetensors(bytes))).toBe(code);
    const path = join(tmp, "bad.safetensors");
    writeFileSync(path, bytes);
    expect(codeOf(() => SafetensorsFile.open(path))).toBe(code);
  });

  it("a custom header cap is honoured", () => {
    const bytes = rawFile(ok, f32(2));
    expect(codeOf(() => parseSafetensors(bytes, { maxHeaderBytes: 10 }))).toBe("SAFETENSORS_INVALID");
  });

  it("reading a non-float dtype as floats is a typed error", () => {
    const st = parseSafetensors(rawFile({ a: { dtype: "I32", shape: [2], data_offsets: [0, 8] } }, f32(2)));
    expect(codeOf(() => st.tensor("a"))).toBe("DTYPE_UNSUPPORTED");
    expect(codeOf(() => st.tensor("missing"))).toBe("TENSOR_MISSING");
  });

  it("fuzz: truncations and byte flips give a ModelError or a valid parse, never another exception", () => {
    const good = serializeSafetensors([
      { name: "w", shape: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
      { name: "b", shape: [2], data: Float32Array.from([7, 8]), dtype: "BF16" },
    ]);
    fc.assert(
      fc.property(
        fc.nat(good.length),
        fc.array(fc.tuple(fc.nat(good.length - 1), fc.nat(255)), { maxLength: 4 }),
        (cut, flips) => {
          const b = good.slice(0, cut);
          for (const [i, v] of flips) if (i < b.length) b[i] = v;
          try {
            const st = parseSafetensors(b);
            for (const n of st.header.tensors.keys()) st.tensor(n);
          } catch (e) {
            expect(e).toBeInstanceOf(ModelError);
          }
        },
      ),
      { seed: 7, numRuns: 400 },
    );
  });
});
