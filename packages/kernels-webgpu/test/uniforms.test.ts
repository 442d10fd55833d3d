import { describe, expect, it } from "vitest";
import type { GpuContext } from "../src/runtime/context.js";
import { KernelError } from "../src/runtime/errors.js";
import { defineUniforms } from "../src/runtime/uniforms.js";
import { useTestContext } from "./context.js";
import { errorCode } from "./fd.js";

// WGSL memory layout (https://www.w3.org/TR/WGSL/#alignment-and-size), for the types supported:
//   u32 / i32 / f32: AlignOf 4,  SizeOf 4
//   vec2<T>:         AlignOf 8,  SizeOf 8
//   vec4<T>:         AlignOf 16, SizeOf 16
// A member's offset is roundUp(AlignOf(member), end of the previous member); the struct's
// alignment is the largest member alignment and SizeOf(struct) = roundUp(AlignOf(S), end of the
// last member). The packed buffer is SizeOf(S) rounded up to 16 bytes (uniform binding size).

/** Every supported alignment, with padding before b, d and f. */
const MIXED = {
  a: "f32",
  b: "vec2<f32>",
  c: "u32",
  d: "vec4<i32>",
  e: "i32",
  f: "vec2<u32>",
} as const;

describe("defineUniforms layout", () => {
  it("scalars only: consecutive 4-byte offsets, size rounded up to 16", () => {
    const L = defineUniforms({ rows: "u32", scale: "f32", offset: "i32" });
    // 0, 4, 8; end 12; AlignOf(S) = 4 → SizeOf(S) = 12 → 16 bytes.
    expect(L.offsets).toEqual({ rows: 0, scale: 4, offset: 8 });
    expect(L.align).toBe(4);
    expect(L.size).toBe(16);
    expect(L.struct("Params")).toBe("struct Params { rows: u32, scale: f32, offset: i32 }");
    expect(L.declare(3, "u")).toBe(
      "struct Params { rows: u32, scale: f32, offset: i32 }\n@group(0) @binding(3) var<uniform> u: Params;",
    );
    expect(L.declare(0, "p", "P")).toBe(
      "struct P { rows: u32, scale: f32, offset: i32 }\n@group(0) @binding(0) var<uniform> p: P;",
    );
  });

  it("five u32 (logprob-like): 20 bytes → 32", () => {
    const L = defineUniforms({ a: "u32", b: "u32", c: "u32", d: "i32", e: "u32" });
    // end = 5·4 = 20 → roundUp(16, 20) = 32.
    expect(Object.values(L.offsets)).toEqual([0, 4, 8, 12, 16]);
    expect(L.size).toBe(32);
  });

  it("mixed scalars and vectors follow the alignment rules", () => {
    const L = defineUniforms(MIXED);
    // a: 0 (end 4); b: roundUp(8, 4) = 8 (end 16); c: 16 (end 20); d: roundUp(16, 20) = 32 (end 48);
    // e: 48 (end 52); f: roundUp(8, 52) = 56 (end 64). AlignOf(S) = 16, SizeOf(S) = 64.
    expect(L.offsets).toEqual({ a: 0, b: 8, c: 16, d: 32, e: 48, f: 56 });
    expect(L.align).toBe(16);
    expect(L.size).toBe(64);
    expect(L.fields.map((f) => [f.name, f.align, f.size])).toEqual([
      ["a", 4, 4],
      ["b", 8, 8],
      ["c", 4, 4],
      ["d", 16, 16],
      ["e", 4, 4],
      ["f", 8, 8],
    ]);
    expect(L.struct("Mixed")).toBe(
      "struct Mixed { a: f32, b: vec2<f32>, c: u32, d: vec4<i32>, e: i32, f: vec2<u32> }",
    );
  });

  it("struct size is rounded to the struct alignment before the 16-byte rule", () => {
    // v: 0 (end 8), n: 8 (end 12); AlignOf(S) = 8 → SizeOf(S) = 16.
    const A = defineUniforms({ v: "vec2<f32>", n: "u32" });
    expect(A.offsets).toEqual({ v: 0, n: 8 });
    expect(A.size).toBe(16);
    // n: 0 (end 4), v: roundUp(16, 4) = 16 (end 32); SizeOf(S) = 32.
    const B = defineUniforms({ n: "u32", v: "vec4<f32>" });
    expect(B.offsets).toEqual({ n: 0, v: 16 });
    expect(B.size).toBe(32);
    // 11 scalars (attention): end 44 → 48.
    const names = ["B", "Tq", "S", "H", "Hkv", "L", "off", "causal", "n", "hasMask", "x"];
    const C = defineUniforms(Object.fromEntries(names.map((n) => [n, "u32" as const])));
    expect(C.size).toBe(48);
  });

  it("rejects bad field names, types and struct names", () => {
    expect(errorCode(() => defineUniforms({}))).toBe("ARGUMENT_INVALID");
    expect(errorCode(() => defineUniforms({ "1x": "u32" }))).toBe("ARGUMENT_INVALID");
    expect(errorCode(() => defineUniforms({ __x: "u32" }))).toBe("ARGUMENT_INVALID");
    expect(errorCode(() => defineUniforms({ x: "f64" as "f32" }))).toBe("ARGUMENT_INVALID");
    expect(errorCode(() => defineUniforms({ x: "vec3<f32>" as "f32" }))).toBe("ARGUMENT_INVALID");
    expect(errorCode(() => defineUniforms({ x: "u32" }).struct("bad name"))).toBe("ARGUMENT_INVALID");
    expect(errorCode(() => defineUniforms({ x: "u32" }).declare(0, "1u"))).toBe("ARGUMENT_INVALID");
    expect(errorCode(() => defineUniforms({ x: "u32" }).declare(-1, "u"))).toBe("ARGUMENT_INVALID");
  });
});

describe("defineUniforms pack", () => {
  const L = defineUniforms({
    n: "u32",
    off: "i32",
    s: "f32",
    v2: "vec2<f32>",
    v4: "vec4<u32>",
  });
  // n 0, off 4, s 8, v2 roundUp(8, 12) = 16 (end 24), v4 roundUp(16, 24) = 32 (end 48) → 48 bytes.

  it("writes each field at its offset with its own type and zeroes the padding", () => {
    expect(L.size).toBe(48);
    const buf = L.pack({ n: 0xffffffff, off: -100, s: 0.1, v2: [1.5, -2], v4: [1, 2, 3, 4] });
    expect(buf.byteLength).toBe(48);
    const u32 = new Uint32Array(buf);
    const i32 = new Int32Array(buf);
    const f32 = new Float32Array(buf);
    expect(u32[0]).toBe(0xffffffff);
    expect(i32[1]).toBe(-100);
    expect(f32[2]).toBe(Math.fround(0.1));
    expect(u32[3]).toBe(0); // padding before v2
    expect([f32[4], f32[5]]).toEqual([1.5, -2]);
    expect([u32[6], u32[7]]).toEqual([0, 0]); // padding before v4
    expect([...u32.subarray(8, 12)]).toEqual([1, 2, 3, 4]);
    const data = L.data({ n: 7, off: 0, s: 0, v2: [0, 0], v4: [0, 0, 0, 9] });
    expect(data).toBeInstanceOf(Uint32Array);
    expect(data.length).toBe(12);
    expect([data[0], data[11]]).toEqual([7, 9]);
  });

  it("accepts the extremes of each type", () => {
    const S = defineUniforms({ u: "u32", i: "i32", f: "f32" });
    const lo = new DataView(S.pack({ u: 0, i: -(2 ** 31), f: -3.4028234663852886e38 }));
    expect([lo.getUint32(0, true), lo.getInt32(4, true), lo.getFloat32(8, true)]).toEqual([
      0,
      -(2 ** 31),
      -3.4028234663852886e38,
    ]);
    const hi = new DataView(S.pack({ u: 2 ** 32 - 1, i: 2 ** 31 - 1, f: 1e-45 }));
    expect([hi.getUint32(0, true), hi.getInt32(4, true), hi.getFloat32(8, true)]).toEqual([
      2 ** 32 - 1,
      2 ** 31 - 1,
      Math.fround(1e-45),
    ]);
  });

  it("rejects missing, extra, non-numeric, non-finite and out-of-range values", () => {
    const S = defineUniforms({ u: "u32", i: "i32", f: "f32", v: "vec2<f32>" });
    const ok = { u: 1, i: -1, f: 0.5, v: [0, 1] } as const;
    const code = (values: unknown) => errorCode(() => S.pack(values as typeof ok, "my_kernel"));
    expect(code(ok)).toBe("none");
    expect(code({ i: -1, f: 0.5, v: [0, 1] })).toBe("ARGUMENT_INVALID");
    expect(code({ ...ok, extra: 1 })).toBe("ARGUMENT_INVALID");
    expect(code(null)).toBe("ARGUMENT_INVALID");
    expect(code({ ...ok, u: "1" })).toBe("ARGUMENT_INVALID");
    expect(code({ ...ok, v: [0] })).toBe("ARGUMENT_INVALID");
    expect(code({ ...ok, v: 1 })).toBe("ARGUMENT_INVALID");
    expect(code({ ...ok, f: Number.NaN })).toBe("VALUE_NON_FINITE");
    expect(code({ ...ok, v: [0, Number.POSITIVE_INFINITY] })).toBe("VALUE_NON_FINITE");
    expect(code({ ...ok, u: -1 })).toBe("VALUE_OUT_OF_RANGE");
    expect(code({ ...ok, u: 1.5 })).toBe("VALUE_OUT_OF_RANGE");
    expect(code({ ...ok, u: 2 ** 32 })).toBe("VALUE_OUT_OF_RANGE");
    expect(code({ ...ok, i: 2 ** 31 })).toBe("VALUE_OUT_OF_RANGE");
    expect(code({ ...ok, i: -(2 ** 31) - 1 })).toBe("VALUE_OUT_OF_RANGE");
    expect(code({ ...ok, f: 1e39 })).toBe("VALUE_OUT_OF_RANGE");
    let err: unknown;
    try {
      S.pack({ ...ok, u: -1 }, "my_kernel");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).kernel).toBe("my_kernel");
    expect((err as KernelError).message).toContain("uniform field 'u'");
  });
});

describe("defineUniforms on the GPU", () => {
  let ctx: GpuContext;
  useTestContext({ clean: true }, (c) => {
    ctx = c;
  });

  it("the WGSL compiler reads every packed field where pack wrote it", async () => {
    // MIXED plus a scalar after the last vec2: g at 64, SizeOf(S) = roundUp(16, 68) = 80.
    const L = defineUniforms({ ...MIXED, g: "f32" });
    expect([L.offsets.g, L.size]).toEqual([64, 80]);
    const values = { a: 1.25, b: [-3, 0.1], c: 7, d: [-1, 2, -3, 4], e: -5, f: [8, 9], g: 6.5 } as const;
    // Each field's components, bit-cast to u32, in declaration order.
    const code = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
${L.declare(1, "u", "Mixed")}
@compute @workgroup_size(1)
fn main() {
  out[0] = bitcast<u32>(u.a);
  out[1] = bitcast<u32>(u.b.x); out[2] = bitcast<u32>(u.b.y);
  out[3] = u.c;
  out[4] = bitcast<u32>(u.d.x); out[5] = bitcast<u32>(u.d.y); out[6] = bitcast<u32>(u.d.z); out[7] = bitcast<u32>(u.d.w);
  out[8] = bitcast<u32>(u.e);
  out[9] = u.f.x; out[10] = u.f.y;
  out[11] = bitcast<u32>(u.g);
}`;
    const packed = new Uint32Array(L.pack(values));
    const expected = L.fields.flatMap((f) =>
      Array.from({ length: f.count }, (_, k) => packed[f.offset / 4 + k] as number),
    );
    const out = ctx.empty([expected.length], "u32", "uniforms:out");
    await ctx.compile("uniform_layout", code);
    ctx.run({ kernel: "uniform_layout", code, bindings: [out, L.data(values)], workgroups: [1] });
    expect([...(await out.read())]).toEqual(expected);
    out.destroy();
  });
});
