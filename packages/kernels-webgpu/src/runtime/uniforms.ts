/**
 * Uniform-buffer layouts derived from a typed field list, instead of hand-padded `Uint32Array`s
 * and hand-written WGSL structs that must agree.
 *
 * `defineUniforms({ rows: "u32", scale: "f32" })` gives the WGSL struct text, each field's byte
 * offset and the struct's size under the WGSL memory-layout rules (scalars: align 4, size 4;
 * `vec2`: align 8, size 8; `vec4`: align 16, size 16; each member at the next multiple of its
 * alignment; the size rounded up to the struct alignment and to 16 bytes for a uniform binding),
 * and a checked `pack` that writes the values with typed views at those offsets.
 */
import { KernelError } from "./errors.js";

/** Scalar types a uniform field may have. */
export type UniformScalar = "u32" | "i32" | "f32";
/** Field types: a scalar, or a `vec2` / `vec4` of one. */
export type UniformType = UniformScalar | `vec2<${UniformScalar}>` | `vec4<${UniformScalar}>`;
/** Field name → type, in struct order (names must be WGSL identifiers, so not integer-like). */
export type UniformFields = Readonly<Record<string, UniformType>>;
/** The host value of a field: a number for a scalar, `n` numbers for a `vecN`. */
export type UniformValue<T extends UniformType> = T extends UniformScalar ? number : readonly number[];
/** One value per field, no more, no less. */
export type UniformValues<F extends UniformFields> = { readonly [K in keyof F]: UniformValue<F[K]> };

/** Where one field lives in the packed buffer. */
export interface UniformField {
  readonly name: string;
  readonly type: UniformType;
  readonly scalar: UniformScalar;
  /** Components: 1, 2 or 4. */
  readonly count: number;
  /** Byte offset from the start of the struct. */
  readonly offset: number;
  readonly align: number;
  readonly size: number;
}

export interface UniformLayout<F extends UniformFields> {
  /** Fields in declaration order with their offsets. */
  readonly fields: readonly UniformField[];
  /** Byte offset of each field. */
  readonly offsets: { readonly [K in keyof F]: number };
  /** Struct alignment (largest member alignment). */
  readonly align: number;
  /** Bytes of the packed buffer: the struct size rounded up to a multiple of 16. */
  readonly size: number;
  /** WGSL `struct <name> { … }` declaration of this layout. */
  struct(name: string): string;
  /** The struct (named `struct`, default `Params`) and `var<uniform> <variable>` at `@group(0) @binding(binding)`. */
  declare(binding: number, variable: string, struct?: string): string;
  /**
   * The values written at their offsets into a new zeroed `ArrayBuffer` of {@link size} bytes.
   * Throws `ARGUMENT_INVALID` (missing, extra or non-numeric field), `VALUE_NON_FINITE` (NaN, ±Inf) or
   * `VALUE_OUT_OF_RANGE` (u32/i32 not an integer in range, f32 beyond the f32 range), naming `kernel`.
   */
  pack(values: UniformValues<F>, kernel?: string): ArrayBuffer;
  /** {@link pack} as a `Uint32Array`, ready to pass as a uniform in `Dispatch.bindings`. */
  data(values: UniformValues<F>, kernel?: string): Uint32Array;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TYPE = /^(?:vec([24])<(u32|i32|f32)>|(u32|i32|f32))$/;
const F32_MAX = 3.4028234663852886e38;

function roundUp(k: number, n: number): number {
  return Math.ceil(n / k) * k;
}

function identifier(name: string, what: string): void {
  if (!IDENT.test(name) || name.startsWith("__")) {
    throw KernelError.mismatch("ARGUMENT_INVALID", what, "a WGSL identifier", name);
  }
}

/** Lay out `fields` (in object key order) by the WGSL alignment rules. */
export function defineUniforms<F extends UniformFields>(fields: F): UniformLayout<F> {
  const list: UniformField[] = [];
  const offsets: Record<string, number> = {};
  let end = 0;
  let align = 4;
  for (const [name, type] of Object.entries(fields)) {
    identifier(name, "uniform field name");
    const m = TYPE.exec(type);
    if (!m) {
      throw KernelError.mismatch(
        "ARGUMENT_INVALID",
        `uniform field '${name}' type`,
        "u32, i32, f32, vec2<…> or vec4<…> of them",
        type,
      );
    }
    const count = m[1] ? Number(m[1]) : 1;
    const scalar = (m[2] ?? m[3]) as UniformScalar;
    // WGSL: AlignOf = SizeOf = 4 for scalars, 8 for vec2, 16 for vec4.
    const size = 4 * count;
    const offset = roundUp(size, end);
    list.push({ name, type, scalar, count, offset, align: size, size });
    offsets[name] = offset;
    end = offset + size;
    align = Math.max(align, size);
  }
  if (list.length === 0) {
    throw KernelError.mismatch("ARGUMENT_INVALID", "uniform fields", "at least one field", fields);
  }
  // SizeOf(struct) = roundUp(AlignOf(struct), end of last member); a uniform binding: a multiple of 16.
  const size = roundUp(16, roundUp(align, end));
  const names = new Set(list.map((f) => f.name));

  const pack = (values: UniformValues<F>, kernel?: string): ArrayBuffer => {
    const fail = (
      code: "ARGUMENT_INVALID" | "VALUE_NON_FINITE" | "VALUE_OUT_OF_RANGE",
      what: string,
      expected: string,
      got: unknown,
    ) => KernelError.mismatch(code, what, expected, got, kernel);
    if (typeof values !== "object" || values === null) {
      throw fail(
        "ARGUMENT_INVALID",
        "uniform values",
        `an object with fields ${[...names].join(", ")}`,
        values,
      );
    }
    for (const key of Object.keys(values)) {
      if (!names.has(key)) {
        throw fail(
          "ARGUMENT_INVALID",
          `uniform field '${key}'`,
          `one of ${[...names].join(", ")}`,
          "an extra field",
        );
      }
    }
    const buf = new ArrayBuffer(size);
    const u32 = new Uint32Array(buf);
    const i32 = new Int32Array(buf);
    const f32 = new Float32Array(buf);
    for (const f of list) {
      const v = (values as Record<string, unknown>)[f.name];
      const comps: readonly unknown[] | undefined =
        f.count === 1 ? [v] : Array.isArray(v) && v.length === f.count ? v : undefined;
      if (v === undefined || comps === undefined) {
        const expected = f.count === 1 ? `a ${f.type} number` : `${f.count} numbers (${f.type})`;
        throw fail("ARGUMENT_INVALID", `uniform field '${f.name}'`, expected, v);
      }
      comps.forEach((x, c) => {
        const what = f.count === 1 ? `uniform field '${f.name}'` : `uniform field '${f.name}'[${c}]`;
        if (typeof x !== "number") throw fail("ARGUMENT_INVALID", what, `a ${f.scalar} number`, x);
        if (!Number.isFinite(x)) throw fail("VALUE_NON_FINITE", what, `a finite ${f.scalar}`, x);
        const at = f.offset / 4 + c;
        switch (f.scalar) {
          case "u32":
            if (!Number.isInteger(x) || x < 0 || x > 0xffffffff)
              throw fail("VALUE_OUT_OF_RANGE", what, "an integer in [0, 2^32 − 1] (u32)", x);
            u32[at] = x;
            break;
          case "i32":
            if (!Number.isInteger(x) || x < -(2 ** 31) || x > 2 ** 31 - 1)
              throw fail("VALUE_OUT_OF_RANGE", what, "an integer in [−2^31, 2^31 − 1] (i32)", x);
            i32[at] = x;
            break;
          default:
            // Beyond the largest f32 (after rounding to nearest) the value would upload as ±Inf.
            if (!Number.isFinite(Math.fround(x)))
              throw fail("VALUE_OUT_OF_RANGE", what, `a number within ±${F32_MAX} (f32)`, x);
            f32[at] = x;
        }
      });
    }
    return buf;
  };

  return {
    fields: list,
    offsets: offsets as { readonly [K in keyof F]: number },
    align,
    size,
    struct(name: string): string {
      identifier(name, "uniform struct name");
      return `struct ${name} { ${list.map((f) => `${f.name}: ${f.type}`).join(", ")} }`;
    },
    declare(binding: number, variable: string, struct = "Params"): string {
      identifier(variable, "uniform variable name");
      if (!Number.isInteger(binding) || binding < 0) {
        throw KernelError.mismatch("ARGUMENT_INVALID", "uniform binding", "a non-negative integer", binding);
      }
      return `${this.struct(struct)}\n@group(0) @binding(${binding}) var<uniform> ${variable}: ${struct};`;
    },
    pack,
    data: (values, kernel) => new Uint32Array(pack(values, kernel)),
  };
}
