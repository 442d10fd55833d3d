/**
 * Hardened safetensors reader / writer.
 *
 * Format: 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON header
 * `{ "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, "__metadata__": {..} }`,
 * then the data section; offsets are relative to the start of the data section.
 *
 * Reading checks, before any allocation sized by the file: header length ≤ cap and ≤ file size,
 * JSON object header, known dtype, non-negative integer shape, `end − begin = numel · bytes`,
 * offsets inside the data section, tensors non-overlapping and covering the data section exactly
 * (as the reference Rust implementation requires). Reading a file only allocates the header and
 * one tensor at a time.
 */
import { ModelError, show } from "./errors.js";

export type SafetensorsDType =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U8"
  | "BOOL"
  | "U16"
  | "U32"
  | "U64";

const DTYPE_BYTES: Record<SafetensorsDType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
  U16: 2,
  U32: 4,
  U64: 8,
};

/** Dtypes converted to Float32Array on read. */
export const FLOAT_DTYPES = ["F32", "F16", "BF16"] as const;
export type FloatDType = (typeof FLOAT_DTYPES)[number];

/** Default cap on the JSON header (same as the reference implementation: 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Byte offsets relative to the data section. */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
  /** Byte offset of the data section within the file (8 + header length). */
  readonly dataOffset: number;
}

export interface ReadOptions {
  /** Largest header accepted, in bytes (default `MAX_HEADER_BYTES`). */
  maxHeaderBytes?: number;
}

function bad(msg: string): never {
  throw new ModelError("SAFETENSORS_INVALID", msg);
}

/** @internal Also used by the Node-only file reader (`safetensors-file.ts`). */
export function readHeaderLength(first8: Uint8Array, fileSize: number, maxHeader: number): number {
  if (fileSize < 8 || first8.length < 8) {
    throw new ModelError(
      "SAFETENSORS_TRUNCATED",
      `file is ${fileSize} bytes; expected at least 8 (the header length)`,
    );
  }
  const dv = new DataView(first8.buffer, first8.byteOffset, 8);
  const n = dv.getBigUint64(0, true);
  if (n > BigInt(maxHeader)) bad(`header length ${n} exceeds the cap of ${maxHeader} bytes`);
  const len = Number(n);
  if (8 + len > fileSize) {
    throw new ModelError(
      "SAFETENSORS_TRUNCATED",
      `header length ${len} needs ${8 + len} bytes but the file has ${fileSize}`,
    );
  }
  if (len < 2) bad(`header length ${len} is too small for a JSON object`);
  return len;
}

/** Parse and validate a header given its bytes and the size of the data section. */
export function parseHeader(headerBytes: Uint8Array, dataLength: number): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
  } catch {
    bad("header is not valid UTF-8");
  }
  if (!text.startsWith("{")) bad(`header must start with "{", received ${show(text.slice(0, 20))}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    bad(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) bad("header must be a JSON object");
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
        bad(`__metadata__ must be an object of strings, received ${show(entry)}`);
      }
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== "string") bad(`__metadata__["${k}"] must be a string, received ${show(v)}`);
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      bad(`tensor "${name}": expected an object, received ${show(entry)}`);
    }
    const e = entry as Record<string, unknown>;
    const dtype = e.dtype;
    if (typeof dtype !== "string" || !(dtype in DTYPE_BYTES)) {
      throw new ModelError(
        "DTYPE_UNSUPPORTED",
        `tensor "${name}": unknown dtype ${show(dtype)} (expected one of ${Object.keys(DTYPE_BYTES).join(", ")})`,
      );
    }
    const shape = e.shape;
    if (
      !Array.isArray(shape) ||
      shape.some((d) => typeof d !== "number" || !Number.isSafeInteger(d) || d < 0)
    ) {
      bad(`tensor "${name}": shape must be a list of non-negative integers, received ${show(shape)}`);
    }
    const offs = e.data_offsets;
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      offs.some((o) => typeof o !== "number" || !Number.isSafeInteger(o) || o < 0)
    ) {
      bad(`tensor "${name}": data_offsets must be two non-negative integers, received ${show(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (end < begin) bad(`tensor "${name}": data_offsets end ${end} < begin ${begin}`);
    if (end > dataLength) {
      throw new ModelError(
        "SAFETENSORS_TRUNCATED",
        `tensor "${name}": data_offsets end ${end} lies beyond the data section (${dataLength} bytes)`,
      );
    }
    let numel = 1;
    for (const d of shape as number[]) {
      numel *= d;
      if (!Number.isSafeInteger(numel)) bad(`tensor "${name}": shape ${show(shape)} overflows`);
    }
    const bytes = numel * DTYPE_BYTES[dtype as SafetensorsDType];
    if (end - begin !== bytes) {
      bad(
        `tensor "${name}": ${dtype} ${show(shape)} needs ${bytes} bytes but data_offsets span ${end - begin}`,
      );
    }
    tensors.set(name, { name, dtype: dtype as SafetensorsDType, shape: shape as number[], begin, end });
  }
  // Non-overlapping, contiguous, covering the whole data section.
  const sorted = [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const t of sorted) {
    if (t.begin < cursor) bad(`tensor "${t.name}" [${t.begin}, ${t.end}) overlaps the previous tensor`);
    if (t.begin > cursor)
      bad(`gap in the data section before tensor "${t.name}" (bytes ${cursor}–${t.begin})`);
    cursor = t.end;
  }
  if (cursor !== dataLength) {
    bad(`data section is ${dataLength} bytes but the tensors cover ${cursor} (trailing bytes)`);
  }
  return { tensors, metadata, dataOffset: 0 };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Convert raw little-endian bytes of a float tensor to Float32Array. */
export function decodeFloat(dtype: SafetensorsDType, bytes: Uint8Array, name = "tensor"): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === "F32") {
    if (LITTLE_ENDIAN) return new Float32Array(bytes.slice().buffer);
    const n = bytes.byteLength / 4;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
    return out;
  }
  if (dtype === "F16") {
    const n = bytes.byteLength / 2;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
    return out;
  }
  if (dtype === "BF16") {
    const n = bytes.byteLength / 2;
    const out = new Float32Array(n);
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u[i] = dv.getUint16(2 * i, true) << 16;
    return out;
  }
  if (dtype === "F64") {
    const n = bytes.byteLength / 8;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
    return out;
  }
  throw new ModelError(
    "DTYPE_UNSUPPORTED",
    `tensor "${name}": dtype ${dtype} cannot be read as floats (expected F32, F16, BF16 or F64)`,
  );
}

/** IEEE half (binary16) bits → number. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** number → IEEE half bits, round to nearest even. */
export function floatToHalf(x: number): number {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  f32[0] = x;
  const b = u32[0] as number;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // may carry into the exponent (→ inf): correct
  return sign | half;
}

/** number → bfloat16 bits, round to nearest even. */
export function floatToBf16(x: number): number {
  const f32 = new Float32Array([x]);
  const b = new Uint32Array(f32.buffer)[0] as number;
  if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) return ((b >>> 16) | 0x40) & 0xffff;
  const rounded = b + 0x7fff + ((b >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** Parse a whole safetensors file held in memory. */
export function parseSafetensors(
  bytes: Uint8Array,
  options: ReadOptions = {},
): { header: SafetensorsHeader; tensor(name: string): { shape: readonly number[]; data: Float32Array } } {
  const len = readHeaderLength(
    bytes.subarray(0, 8),
    bytes.length,
    options.maxHeaderBytes ?? MAX_HEADER_BYTES,
  );
  const h = parseHeader(bytes.subarray(8, 8 + len), bytes.length - 8 - len);
  const header = { ...h, dataOffset: 8 + len };
  return {
    header,
    tensor(name: string) {
      const t = header.tensors.get(name);
      if (!t) throw new ModelError("TENSOR_MISSING", `no tensor named "${name}"`);
      const raw = bytes.subarray(header.dataOffset + t.begin, header.dataOffset + t.end);
      return { shape: t.shape, data: decodeFloat(t.dtype, raw, name) };
    },
  };
}

export interface TensorToWrite {
  name: string;
  shape: readonly number[];
  data: Float32Array;
  /** Stored dtype (default F32). */
  dtype?: FloatDType;
}

/** Serialise float tensors (written in the given order) to safetensors bytes. */
export function serializeSafetensors(
  tensors: readonly TensorToWrite[],
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === "__metadata__" || t.name.length === 0) {
      throw new ModelError("INPUT_INVALID", `invalid tensor name ${show(t.name)}`);
    }
    if (seen.has(t.name)) throw new ModelError("INPUT_INVALID", `duplicate tensor name "${t.name}"`);
    seen.add(t.name);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) {
      throw new ModelError(
        "TENSOR_SHAPE_MISMATCH",
        `tensor "${t.name}": shape ${show(t.shape)} has ${numel} elements, data has ${t.data.length}`,
      );
    }
    const dtype = t.dtype ?? "F32";
    const nbytes = numel * DTYPE_BYTES[dtype];
    header[t.name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + nbytes] };
    offset += nbytes;
  }
  const enc = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(enc.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(padded), true);
  out.set(enc, 8);
  out.fill(0x20, 8 + enc.length, 8 + padded);
  let pos = 8 + padded;
  for (const t of tensors) {
    const dtype = t.dtype ?? "F32";
    if (dtype === "F32") {
      for (let i = 0; i < t.data.length; i++) dv.setFloat32(pos + 4 * i, t.data[i] as number, true);
      pos += 4 * t.data.length;
    } else {
      const conv = dtype === "F16" ? floatToHalf : floatToBf16;
      for (let i = 0; i < t.data.length; i++) dv.setUint16(pos + 2 * i, conv(t.data[i] as number), true);
      pos += 2 * t.data.length;
    }
  }
  return out;
}
