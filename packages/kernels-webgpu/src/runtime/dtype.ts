/** Element types a tensor can hold. f16 is storage-only (needs `shader-f16`). */
export type DType = "f32" | "i32" | "u32" | "f16";

export type TypedArrayFor<D extends DType> = D extends "f32"
  ? Float32Array
  : D extends "i32"
    ? Int32Array
    : D extends "u32"
      ? Uint32Array
      : Uint16Array;

export function bytesPerElement(dtype: DType): number {
  return dtype === "f16" ? 2 : 4;
}

export function typedArrayFor<D extends DType>(dtype: D, buf: ArrayBuffer, length: number): TypedArrayFor<D> {
  switch (dtype) {
    case "f32":
      return new Float32Array(buf, 0, length) as TypedArrayFor<D>;
    case "i32":
      return new Int32Array(buf, 0, length) as TypedArrayFor<D>;
    case "u32":
      return new Uint32Array(buf, 0, length) as TypedArrayFor<D>;
    default:
      return new Uint16Array(buf, 0, length) as TypedArrayFor<D>;
  }
}

export function dtypeOfArray(data: ArrayBufferView): DType | undefined {
  if (data instanceof Float32Array) return "f32";
  if (data instanceof Int32Array) return "i32";
  if (data instanceof Uint32Array) return "u32";
  if (data instanceof Uint16Array) return "f16";
  return undefined;
}
