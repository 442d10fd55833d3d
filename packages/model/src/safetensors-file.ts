/**
 * Node-only half of the safetensors module: a file opened for reading one tensor at a time, and
 * atomic writes. The format checks live in `safetensors.ts` (browser-safe, byte-based).
 */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { writeFileAtomicSync } from "@sage/core/node";
import { ModelError } from "./errors.js";
import {
  decodeFloat,
  MAX_HEADER_BYTES,
  parseHeader,
  type ReadOptions,
  readHeaderLength,
  type SafetensorsHeader,
  serializeSafetensors,
  type TensorInfo,
  type TensorToWrite,
} from "./safetensors.js";

/** A safetensors file opened for reading; reads one tensor at a time. Close it when done. */
export class SafetensorsFile implements Disposable {
  readonly path: string;
  readonly header: SafetensorsHeader;
  readonly fileSize: number;
  private fd: number | undefined;

  private constructor(path: string, fd: number, header: SafetensorsHeader, fileSize: number) {
    this.path = path;
    this.fd = fd;
    this.header = header;
    this.fileSize = fileSize;
  }

  static open(path: string, options: ReadOptions = {}): SafetensorsFile {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (e) {
      throw new ModelError("CHECKPOINT_INVALID", `cannot open ${path}: ${(e as Error).message}`);
    }
    try {
      const size = statSync(path).size;
      const first8 = new Uint8Array(8);
      const got = size >= 8 ? readSync(fd, first8, 0, 8, 0) : 0;
      const len = readHeaderLength(first8.subarray(0, got), size, options.maxHeaderBytes ?? MAX_HEADER_BYTES);
      const hb = new Uint8Array(len);
      readFully(fd, hb, 8);
      const h = parseHeader(hb, size - 8 - len);
      return new SafetensorsFile(path, fd, { ...h, dataOffset: 8 + len }, size);
    } catch (e) {
      closeSync(fd);
      if (e instanceof ModelError) {
        throw new ModelError(e.code, `${path}: ${e.message.replace(/^\[[A-Z_]+\] /, "")}`);
      }
      throw e;
    }
  }

  get names(): string[] {
    return [...this.header.tensors.keys()];
  }

  info(name: string): TensorInfo {
    const t = this.header.tensors.get(name);
    if (!t) throw new ModelError("TENSOR_MISSING", `${this.path}: no tensor named "${name}"`);
    return t;
  }

  /** Raw bytes of one tensor. */
  readBytes(name: string): Uint8Array {
    if (this.fd === undefined) throw new ModelError("STATE_INVALID", `${this.path}: file is closed`);
    const t = this.info(name);
    const out = new Uint8Array(t.end - t.begin);
    readFully(this.fd, out, this.header.dataOffset + t.begin);
    return out;
  }

  /** One float tensor (F32/F16/BF16/F64) as Float32Array. */
  readFloat32(name: string): { shape: readonly number[]; data: Float32Array } {
    const t = this.info(name);
    return { shape: t.shape, data: decodeFloat(t.dtype, this.readBytes(name), name) };
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function readFully(fd: number, out: Uint8Array, position: number): void {
  let done = 0;
  while (done < out.length) {
    const n = readSync(fd, out, done, out.length - done, position + done);
    if (n === 0) {
      throw new ModelError(
        "SAFETENSORS_TRUNCATED",
        `unexpected end of file at byte ${position + done} (wanted ${out.length - done} more)`,
      );
    }
    done += n;
  }
}

/**
 * Write bytes to `path` atomically and durably: `@sage/core/node`'s `writeFileAtomicSync` (parent
 * folder created, temp file fsynced and renamed over `path`, folder fsynced).
 */
export { writeFileAtomicSync as writeFileAtomic };

/** Serialise and write a safetensors file atomically. */
export function writeSafetensorsFile(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata: Record<string, string> = { format: "pt" },
): void {
  writeFileAtomicSync(path, serializeSafetensors(tensors, metadata));
}
