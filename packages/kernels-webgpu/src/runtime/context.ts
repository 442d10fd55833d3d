import { type AdapterReport, noAdapterError, reportAdapter } from "./adapter.js";
import { bytesPerElement, type DType, dtypeOfArray, type TypedArrayFor, typedArrayFor } from "./dtype.js";
import { KernelError } from "./errors.js";
import { formatCompileError } from "./shader.js";
import { BufferUsage, MapMode } from "./usage.js";

/** Features enabled when the adapter has them. */
export const DEFAULT_OPTIONAL_FEATURES = ["shader-f16", "subgroups", "timestamp-query"] as const;

/** Dawn (Node) flags used unless the caller passes its own. */
export const DEFAULT_DAWN_FLAGS = [
  "disable-dawn-features=timestamp_quantization",
  "enable-dawn-features=vulkan_enable_f16_on_nvidia",
];

export interface CreateContextOptions {
  /** Flags for Dawn's `create()` in Node (ignored in browsers). Default {@link DEFAULT_DAWN_FLAGS}. */
  dawnFlags?: readonly string[];
  powerPreference?: GPUPowerPreference;
  /** Features to enable when present. Default {@link DEFAULT_OPTIONAL_FEATURES}. */
  optionalFeatures?: readonly string[];
  /** Ask for the adapter's own limits instead of the spec defaults (default true). */
  adapterLimits?: boolean;
  label?: string;
}

export interface ContextFromDeviceOptions {
  adapter?: GPUAdapter;
  label?: string;
}

/** One kernel launch: WGSL, its bindings (in `@binding(i)` order of group 0) and a grid. */
export interface Dispatch {
  /** Kernel name, used in labels, errors and timings. */
  kernel: string;
  code: string;
  entryPoint?: string;
  bindings: readonly Binding[];
  /** Workgroup counts `[x, y?, z?]`. */
  workgroups: readonly [number, number?, number?];
}

/** A byte sub-range of a tensor or buffer, bound as storage (offset aligned to `minStorageBufferOffsetAlignment`). */
export interface BindingRange {
  buffer: Tensor | GPUBuffer;
  /** Byte offset (default 0). */
  offset?: number;
  /** Byte size (default: to the end of the buffer). */
  size?: number;
}

/** A storage binding (tensor, raw buffer or a byte range of either) or uniform data (≤ 64 KiB typed array). */
export type Binding = Tensor | GPUBuffer | BindingRange | Uint32Array | Int32Array | Float32Array;

export interface KernelTiming {
  kernel: string;
  ns: number;
}

// Two timestamps a pass; Dawn caps a query set at 4096 queries.
const MAX_PROFILED_PASSES = 2048;
// Passes recorded before an automatic submit.
const MAX_PENDING_PASSES = 256;
// Uniform data up to this many bytes goes into the per-context uniform ring (larger: own buffer).
const RING_MAX_UNIFORM = 256;

/**
 * A WebGPU device with everything that must outlive it (instance, adapter, device, queue),
 * a per-device pipeline cache, a pending command encoder, and the set of live tensors.
 *
 * Create one with {@link createContext} (Node or browser) or wrap your own device with
 * {@link contextFromDevice}. Library code takes a context; it never reaches for a global one.
 */
export class GpuContext implements Disposable {
  /** The GPU instance (Dawn's `create()` result in Node). Held so that it is never collected early. */
  readonly gpu: GPU | undefined;
  readonly adapter: GPUAdapter | undefined;
  readonly device: GPUDevice;
  readonly queue: GPUQueue;
  readonly report: AdapterReport | undefined;
  readonly features: ReadonlySet<string>;
  readonly limits: GPUSupportedLimits;
  readonly label: string;

  private readonly ownsDevice: boolean;
  private readonly pipelines = new Map<string, Map<string, GPUComputePipeline>>();
  private readonly live = new Set<Tensor>();
  private readonly errors: KernelError[] = [];
  private readonly transient: GPUBuffer[] = [];
  private encoder: GPUCommandEncoder | undefined;
  /** The open compute pass of `encoder` (ended before the encoder is finished or used otherwise). */
  private pass: GPUComputePassEncoder | undefined;
  private pendingPasses = 0;
  private destroyed = false;
  private reads = 0;
  private lost: string | undefined;
  private profiler: { querySet: GPUQuerySet; kernels: string[] } | undefined;
  /**
   * Uniform ring: small uniform data of the passes recorded since the last submit is packed into
   * a host array and uploaded with one `writeBuffer` right before the submit (queue order makes
   * reuse across submits safe), instead of one mapped buffer per pass.
   */
  private ring: { buffer: GPUBuffer; host: Uint8Array; used: number; slot: number } | undefined;
  /** Total kernel dispatches recorded since creation. */
  dispatchCount = 0;

  constructor(args: {
    gpu: GPU | undefined;
    adapter: GPUAdapter | undefined;
    device: GPUDevice;
    ownsDevice: boolean;
    label: string;
  }) {
    this.gpu = args.gpu;
    this.adapter = args.adapter;
    this.device = args.device;
    this.queue = args.device.queue;
    this.ownsDevice = args.ownsDevice;
    this.label = args.label;
    this.report = args.adapter ? reportAdapter(args.adapter) : undefined;
    this.features = new Set([...args.device.features].map(String));
    this.limits = args.device.limits;
    this.device.addEventListener("uncapturederror", (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.errors.push(new KernelError("GPU_VALIDATION_FAILED", `GPU error: ${e.message}`));
    });
    void this.device.lost.then((info) => {
      if (!this.destroyed) this.lost = `${info.reason}: ${info.message}`;
    });
  }

  get hasTimestamps(): boolean {
    return this.features.has("timestamp-query");
  }

  get hasF16(): boolean {
    return this.features.has("shader-f16");
  }

  get hasSubgroups(): boolean {
    return this.features.has("subgroups");
  }

  /** Number of tensors created through this context and not yet destroyed. */
  /**
   * Device-to-host reads (`read`, `Tensor.read`) since this context was created: each one waits for
   * the GPU. A counter, not a clock — tests bound host round-trips per training step with it.
   */
  get readCount(): number {
    return this.reads;
  }

  get liveTensors(): number {
    return this.live.size;
  }

  /** Labels of live tensors (for leak reports). */
  liveTensorLabels(): string[] {
    return [...this.live].map((t) => `${t.label} [${t.shape.join(",")}] ${t.dtype}`);
  }

  // ---------------------------------------------------------------- tensors

  /** An uninitialised (zero-filled) tensor. */
  empty<D extends DType>(shape: readonly number[], dtype: D, label = "tensor"): Tensor<D> {
    this.assertUsable();
    const size = checkShape(shape, label);
    const byteLength = size * bytesPerElement(dtype);
    const maxBuffer = this.limits.maxBufferSize;
    if (byteLength > maxBuffer) {
      throw KernelError.mismatch(
        "DEVICE_LIMIT_EXCEEDED",
        `tensor '${label}' of shape [${shape.join(", ")}] ${dtype}`,
        `at most ${maxBuffer} bytes (device maxBufferSize)`,
        `${byteLength} bytes`,
      );
    }
    const buffer = this.device.createBuffer({
      label,
      size: Math.max(4, align4(byteLength)),
      usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
    });
    const t = new Tensor<D>(this, buffer, shape, dtype, label);
    this.live.add(t);
    return t;
  }

  /** Upload a typed array as a tensor. The dtype follows the array (Uint16Array → f16 bits). */
  tensor(data: Float32Array, shape: readonly number[], label?: string): Tensor<"f32">;
  tensor(data: Int32Array, shape: readonly number[], label?: string): Tensor<"i32">;
  tensor(data: Uint32Array, shape: readonly number[], label?: string): Tensor<"u32">;
  tensor(data: Uint16Array, shape: readonly number[], label?: string): Tensor<"f16">;
  tensor<D extends DType>(data: TypedArrayFor<D>, shape: readonly number[], label?: string): Tensor<D>;
  tensor<D extends DType>(data: TypedArrayFor<D>, shape: readonly number[], label = "tensor"): Tensor<D> {
    const dtype = dtypeOfArray(data);
    if (!dtype)
      throw KernelError.mismatch(
        "DTYPE_MISMATCH",
        `tensor '${label}' data`,
        "a Float32Array, Int32Array, Uint32Array or Uint16Array",
        data,
      );
    const size = checkShape(shape, label);
    if (data.length !== size) {
      throw KernelError.mismatch(
        "SHAPE_MISMATCH",
        `tensor '${label}' data length`,
        `${size} elements for shape [${shape.join(", ")}]`,
        `${data.length}`,
      );
    }
    const t = this.empty(shape, dtype as D, label);
    this.write(t, data);
    return t;
  }

  /** Overwrite a tensor's contents. Pending commands are submitted first so ordering holds. */
  write<D extends DType>(t: Tensor<D>, data: TypedArrayFor<D>, elementOffset = 0): void {
    t.assertAlive();
    if (dtypeOfArray(data) !== t.dtype) {
      throw KernelError.mismatch(
        "DTYPE_MISMATCH",
        `write to '${t.label}'`,
        t.dtype,
        dtypeOfArray(data) ?? "unknown",
      );
    }
    if (elementOffset + data.length > t.size) {
      throw KernelError.mismatch(
        "VALUE_OUT_OF_RANGE",
        `write to '${t.label}'`,
        `at most ${t.size - elementOffset} elements`,
        `${data.length}`,
      );
    }
    this.flush();
    const bpe = bytesPerElement(t.dtype);
    const bytes = data.length * bpe;
    if (bytes % 4 === 0) {
      this.queue.writeBuffer(t.buffer, elementOffset * bpe, data.buffer, data.byteOffset, bytes);
    } else {
      const padded = new Uint8Array(align4(bytes));
      padded.set(new Uint8Array(data.buffer, data.byteOffset, bytes));
      this.queue.writeBuffer(t.buffer, elementOffset * bpe, padded);
    }
  }

  /** Download a tensor (submits pending work, waits, surfaces GPU errors). */
  async read<D extends DType>(t: Tensor<D>): Promise<TypedArrayFor<D>> {
    t.assertAlive();
    this.reads++;
    const bytes = align4(t.size * bytesPerElement(t.dtype));
    const staging = this.device.createBuffer({
      label: `${t.label}:staging`,
      size: Math.max(4, bytes),
      usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
    });
    try {
      const enc = this.takeEncoder();
      enc.copyBufferToBuffer(t.buffer, 0, staging, 0, Math.max(4, bytes));
      this.submit(enc);
      await staging.mapAsync(MapMode.READ);
      const copy = staging.getMappedRange().slice(0);
      staging.unmap();
      this.throwIfErrors();
      return typedArrayFor(t.dtype, copy, t.size);
    } finally {
      staging.destroy();
    }
  }

  // ---------------------------------------------------------------- kernels

  /** The compute pipeline for a WGSL source, compiled once per device. */
  pipeline(kernel: string, code: string, entryPoint = "main"): GPUComputePipeline {
    // Keyed by the source string itself (kernels return cached strings, whose hash V8 keeps),
    // then by entry point: no per-call key concatenation of a long source.
    let byEntry = this.pipelines.get(code);
    if (!byEntry) {
      byEntry = new Map();
      this.pipelines.set(code, byEntry);
    }
    let p = byEntry.get(entryPoint);
    if (!p) {
      const module = this.device.createShaderModule({ label: kernel, code });
      void module.getCompilationInfo().then((info) => {
        const msgs = info.messages.filter((m) => m.type === "error");
        if (msgs.length > 0) this.errors.push(formatCompileError(kernel, code, msgs));
      });
      p = this.device.createComputePipeline({
        label: kernel,
        layout: "auto",
        compute: { module, entryPoint },
      });
      byEntry.set(entryPoint, p);
    }
    return p;
  }

  /** Compile a kernel now and throw a `SHADER_COMPILE_FAILED` error with `line:col` and source on failure. */
  async compile(kernel: string, code: string, entryPoint = "main"): Promise<void> {
    const module = this.device.createShaderModule({ label: kernel, code });
    const info = await module.getCompilationInfo();
    const msgs = info.messages.filter((m) => m.type === "error");
    if (msgs.length > 0) throw formatCompileError(kernel, code, msgs);
    this.pipeline(kernel, code, entryPoint);
  }

  /** Record one kernel dispatch. Work is submitted by {@link flush}, {@link read} or {@link sync}. */
  run(d: Dispatch): void {
    this.assertUsable();
    const [x, y = 1, z = 1] = d.workgroups;
    const maxWg = this.limits.maxComputeWorkgroupsPerDimension;
    for (const n of [x, y, z]) {
      if (!Number.isInteger(n) || n < 0 || n > maxWg) {
        throw KernelError.mismatch(
          "DEVICE_LIMIT_EXCEEDED",
          "workgroup count",
          `an integer in [0, ${maxWg}] per dimension`,
          [x, y, z],
          d.kernel,
        );
      }
    }
    if (x * y * z === 0) return;
    const pipeline = this.pipeline(d.kernel, d.code, d.entryPoint);
    this.reserveUniforms(d.bindings);
    const maxBinding = this.limits.maxStorageBufferBindingSize;
    const entries: GPUBindGroupEntry[] = d.bindings.map((b, binding) => {
      if (b instanceof Tensor) {
        b.assertAlive(d.kernel);
        if (b.byteLength > maxBinding) {
          throw KernelError.mismatch(
            "DEVICE_LIMIT_EXCEEDED",
            `binding ${binding} ('${b.label}')`,
            `at most ${maxBinding} bytes (maxStorageBufferBindingSize); chunk the input`,
            `${b.byteLength} bytes`,
            d.kernel,
          );
        }
        return { binding, resource: { buffer: b.buffer } };
      }
      if (ArrayBuffer.isView(b)) return { binding, resource: this.uniform(b, d.kernel) };
      if (isRange(b)) return { binding, resource: this.range(b, binding, d.kernel) };
      return { binding, resource: { buffer: b } };
    });
    const bindGroup = this.device.createBindGroup({
      label: d.kernel,
      layout: pipeline.getBindGroupLayout(0),
      entries,
    });
    const enc = (this.encoder ??= this.device.createCommandEncoder({ label: this.label }));
    if (this.profiler && this.profiler.kernels.length < MAX_PROFILED_PASSES) {
      // Profiling: a pass of its own per dispatch, with begin/end timestamps.
      this.endPass();
      const i = this.profiler.kernels.length;
      this.profiler.kernels.push(d.kernel);
      const pass = enc.beginComputePass({
        label: d.kernel,
        timestampWrites: {
          querySet: this.profiler.querySet,
          beginningOfPassWriteIndex: 2 * i,
          endOfPassWriteIndex: 2 * i + 1,
        },
      });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(x, y, z);
      pass.end();
    } else {
      // Consecutive dispatches share one compute pass (each dispatch is its own usage scope, so
      // the implementation still orders a dispatch after the writes of the previous ones); this
      // saves a pass begin/end per kernel, which dominates small decoding steps.
      const pass = (this.pass ??= enc.beginComputePass({ label: this.label }));
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(x, y, z);
    }
    this.dispatchCount++;
    if (++this.pendingPasses >= MAX_PENDING_PASSES) this.flush();
  }

  /** Submit recorded work without waiting. */
  flush(): void {
    if (this.encoder) this.submit(this.takeEncoder());
  }

  /** Submit recorded work and wait until the GPU has finished it; throws any GPU error seen. */
  async sync(): Promise<void> {
    this.flush();
    await this.queue.onSubmittedWorkDone();
    this.throwIfErrors();
  }

  /** Throw (and clear) the first GPU error captured since the last check. */
  throwIfErrors(): void {
    if (this.lost) throw new KernelError("DEVICE_LOST", `device lost (${this.lost})`);
    const e = this.errors.shift();
    if (e) {
      this.errors.length = 0;
      throw e;
    }
  }

  // ---------------------------------------------------------------- timing

  /** Start recording GPU timestamps for each compute pass (needs `timestamp-query`). */
  startProfile(): boolean {
    if (!this.hasTimestamps || this.profiler) return false;
    this.flush();
    const querySet = this.device.createQuerySet({ type: "timestamp", count: 2 * MAX_PROFILED_PASSES });
    this.profiler = { querySet, kernels: [] };
    return true;
  }

  /** Stop recording and return per-pass GPU times in nanoseconds. */
  async endProfile(): Promise<KernelTiming[]> {
    const prof = this.profiler;
    if (!prof) return [];
    this.profiler = undefined;
    const n = prof.kernels.length;
    if (n === 0) {
      prof.querySet.destroy();
      return [];
    }
    const resolve = this.device.createBuffer({
      size: 16 * n,
      usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC,
    });
    const staging = this.device.createBuffer({
      size: 16 * n,
      usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
    });
    const enc = this.takeEncoder();
    enc.resolveQuerySet(prof.querySet, 0, 2 * n, resolve, 0);
    enc.copyBufferToBuffer(resolve, 0, staging, 0, 16 * n);
    this.submit(enc);
    await staging.mapAsync(MapMode.READ);
    const ts = new BigUint64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    resolve.destroy();
    prof.querySet.destroy();
    this.throwIfErrors();
    return prof.kernels.map((kernel, i) => ({
      kernel,
      ns: Number((ts[2 * i + 1] ?? 0n) - (ts[2 * i] ?? 0n)),
    }));
  }

  // ---------------------------------------------------------------- lifetime

  /** Destroy every live tensor and, if this context created the device, the device. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    for (const t of [...this.live]) t.destroy();
    for (const b of this.transient.splice(0)) b.destroy();
    this.ring?.buffer.destroy();
    this.ring = undefined;
    this.pipelines.clear();
    this.destroyed = true;
    if (this.ownsDevice) this.device.destroy();
  }

  [Symbol.dispose](): void {
    this.destroy();
  }

  /**
   * @internal Called by `Tensor.destroy()`. A buffer that recorded-but-unsubmitted passes may
   * still use is destroyed right after the next submit (the implementation frees it once the GPU
   * is done), so destroying a temporary right after recording the pass that reads it is safe.
   */
  release(t: Tensor): void {
    this.live.delete(t);
    if (this.encoder) this.transient.push(t.buffer);
    else t.buffer.destroy();
  }

  private range(r: BindingRange, binding: number, kernel: string): GPUBufferBinding {
    const isTensor = r.buffer instanceof Tensor;
    if (r.buffer instanceof Tensor) r.buffer.assertAlive(kernel);
    const buffer = r.buffer instanceof Tensor ? r.buffer.buffer : r.buffer;
    const total = r.buffer instanceof Tensor ? r.buffer.byteLength : r.buffer.size;
    const offset = r.offset ?? 0;
    const size = r.size ?? total - offset;
    const align = this.limits.minStorageBufferOffsetAlignment;
    const name = isTensor ? `'${(r.buffer as Tensor).label}'` : "buffer";
    if (!Number.isInteger(offset) || offset < 0 || offset % align !== 0) {
      throw KernelError.mismatch(
        "ARGUMENT_INVALID",
        `binding ${binding} (${name}) offset`,
        `a non-negative multiple of ${align} bytes`,
        offset,
        kernel,
      );
    }
    if (
      !Number.isInteger(size) ||
      size <= 0 ||
      size % 4 !== 0 ||
      offset + size > Math.max(4, Math.ceil(total / 4) * 4)
    ) {
      throw KernelError.mismatch(
        "VALUE_OUT_OF_RANGE",
        `binding ${binding} (${name}) range`,
        `a positive multiple of 4 bytes within ${total} bytes`,
        { offset, size },
        kernel,
      );
    }
    if (size > this.limits.maxStorageBufferBindingSize) {
      throw KernelError.mismatch(
        "DEVICE_LIMIT_EXCEEDED",
        `binding ${binding} (${name}) size`,
        `at most ${this.limits.maxStorageBufferBindingSize} bytes (maxStorageBufferBindingSize)`,
        `${size} bytes`,
        kernel,
      );
    }
    return { buffer, offset, size };
  }

  private uniform(data: ArrayBufferView, kernel: string): GPUBufferBinding {
    if (data.byteLength > this.limits.maxUniformBufferBindingSize) {
      throw KernelError.mismatch(
        "DEVICE_LIMIT_EXCEEDED",
        "uniform data",
        `at most ${this.limits.maxUniformBufferBindingSize} bytes`,
        `${data.byteLength}`,
        kernel,
      );
    }
    const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    const ring = this.ring;
    if (size <= RING_MAX_UNIFORM && ring && ring.used + ring.slot <= ring.host.byteLength) {
      const offset = ring.used;
      ring.host.fill(0, offset, offset + size);
      ring.host.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
      ring.used += ring.slot;
      return { buffer: ring.buffer, offset, size };
    }
    const buf = this.device.createBuffer({
      label: `${kernel}:uniform`,
      size,
      usage: BufferUsage.UNIFORM,
      mappedAtCreation: true,
    });
    new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    buf.unmap();
    this.transient.push(buf);
    return { buffer: buf };
  }

  /** Make room in the uniform ring for this pass's small uniforms (submitting pending work if full). */
  private reserveUniforms(bindings: readonly Binding[]): void {
    let n = 0;
    for (const b of bindings) if (ArrayBuffer.isView(b) && b.byteLength <= RING_MAX_UNIFORM) n++;
    if (n === 0) return;
    if (!this.ring) {
      const slot = Math.max(RING_MAX_UNIFORM, this.limits.minUniformBufferOffsetAlignment);
      const bytes = slot * MAX_PENDING_PASSES * 2;
      this.ring = {
        buffer: this.device.createBuffer({
          label: `${this.label}:uniform_ring`,
          size: bytes,
          usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST,
        }),
        host: new Uint8Array(bytes),
        used: 0,
        slot,
      };
    }
    if (this.ring.used + n * this.ring.slot > this.ring.host.byteLength) this.flush();
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = undefined;
    }
  }

  private takeEncoder(): GPUCommandEncoder {
    this.endPass();
    const enc = this.encoder ?? this.device.createCommandEncoder({ label: this.label });
    this.encoder = undefined;
    return enc;
  }

  private submit(enc: GPUCommandEncoder): void {
    const ring = this.ring;
    if (ring && ring.used > 0) {
      // Ordered before this submit's commands and after every earlier submit's (queue order).
      this.queue.writeBuffer(ring.buffer, 0, ring.host.buffer, ring.host.byteOffset, ring.used);
      ring.used = 0;
    }
    this.queue.submit([enc.finish()]);
    this.pendingPasses = 0;
    // Destroying after submit is safe: the implementation frees them once the work completes.
    for (const b of this.transient.splice(0)) b.destroy();
  }

  private assertUsable(): void {
    if (this.destroyed)
      throw new KernelError("RESOURCE_DISPOSED", `context '${this.label}' was destroyed; create a new one`);
    if (this.lost) throw new KernelError("DEVICE_LOST", `device lost (${this.lost})`);
  }
}

/** A typed view of a GPU buffer: shape, dtype, and deterministic release. */
export class Tensor<D extends DType = DType> implements Disposable {
  readonly size: number;
  readonly byteLength: number;
  private alive = true;

  constructor(
    readonly ctx: GpuContext,
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: D,
    readonly label: string,
  ) {
    this.size = shape.reduce((a, b) => a * b, 1);
    this.byteLength = this.size * bytesPerElement(dtype);
  }

  get isAlive(): boolean {
    return this.alive;
  }

  read(): Promise<TypedArrayFor<D>> {
    return this.ctx.read(this);
  }

  destroy(): void {
    if (!this.alive) return;
    this.alive = false;
    this.ctx.release(this);
  }

  [Symbol.dispose](): void {
    this.destroy();
  }

  /** @internal */
  assertAlive(kernel?: string): void {
    if (!this.alive) {
      throw new KernelError(
        "RESOURCE_DISPOSED",
        `tensor '${this.label}' was destroyed before use`,
        kernel ? { kernel } : {},
      );
    }
  }
}

function isRange(b: GPUBuffer | BindingRange): b is BindingRange {
  return "buffer" in b;
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

function checkShape(shape: readonly number[], label: string): number {
  let size = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw KernelError.mismatch("SHAPE_MISMATCH", `shape of '${label}'`, "non-negative integers", shape);
    }
    size *= d;
  }
  return size;
}

/**
 * Open a WebGPU device. In Node it loads Dawn's binding (npm `webgpu`, an optional peer
 * dependency); in a browser it uses `navigator.gpu`. Requests the adapter's real limits and
 * enables `shader-f16`, `subgroups` and `timestamp-query` when present.
 */
export async function createContext(options: CreateContextOptions = {}): Promise<GpuContext> {
  const label = options.label ?? "sage";
  let gpu: GPU | undefined;
  let where: string;
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) {
    gpu = nav.gpu;
    where = "navigator.gpu";
  } else {
    let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
    try {
      // A computed specifier: bundlers for the browser leave Dawn's Node binding out (a page has navigator.gpu).
      const dawn = "webgpu";
      mod = (await import(/* @vite-ignore */ dawn)) as unknown as typeof mod;
    } catch (cause) {
      throw new KernelError(
        "WEBGPU_MISSING",
        "no WebGPU implementation: expected `navigator.gpu` (browser) or the npm package `webgpu` (Dawn for Node). Install it: `npm install webgpu`.",
        { cause },
      );
    }
    if (typeof (globalThis as { GPUBufferUsage?: unknown }).GPUBufferUsage === "undefined") {
      Object.assign(globalThis, mod.globals);
    }
    gpu = mod.create([...(options.dawnFlags ?? DEFAULT_DAWN_FLAGS)]);
    where = "Dawn (npm webgpu)";
  }
  const adapter = await gpu.requestAdapter(
    options.powerPreference ? { powerPreference: options.powerPreference } : {},
  );
  if (!adapter) throw noAdapterError(where);
  const wanted = options.optionalFeatures ?? DEFAULT_OPTIONAL_FEATURES;
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  if (options.adapterLimits !== false) {
    for (const key in adapter.limits) {
      const v = (adapter.limits as unknown as Record<string, unknown>)[key];
      if (typeof v === "number") requiredLimits[key] = v;
    }
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ label, requiredFeatures, requiredLimits });
  } catch {
    // An implementation that rejects a limit name it does not know: fall back to the defaults.
    device = await adapter.requestDevice({ label, requiredFeatures });
  }
  return new GpuContext({ gpu, adapter, device, ownsDevice: true, label });
}

/**
 * Wrap a device you created yourself. `destroy()` then releases only what this context
 * created (tensors, buffers), never your device.
 */
export function contextFromDevice(device: GPUDevice, options: ContextFromDeviceOptions = {}): GpuContext {
  return new GpuContext({
    gpu: undefined,
    adapter: options.adapter,
    device,
    ownsDevice: false,
    label: options.label ?? "sage",
  });
}
