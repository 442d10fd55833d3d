import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assertFinite,
  countNonFinite,
  createContext,
  formatAdapter,
  type GpuContext,
  KernelError,
} from "../src/index.js";
import { createTestContext, expectClean } from "../src/testing.js";

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.destroy());

const ADD_ONE = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<uniform> n: vec4<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < n.x) { x[gid.x] = x[gid.x] + 1.0; }
}`;

describe("runtime", () => {
  it("reports the adapter with its features and real limits", () => {
    const r = ctx.report!;
    expect(r.vendor.length).toBeGreaterThan(0);
    expect(formatAdapter(r)).toContain(r.backend);
    // requiredLimits come from the adapter, not the spec defaults (128 MiB storage binding is the default).
    expect(ctx.limits.maxComputeInvocationsPerWorkgroup).toBe(r.limits.maxComputeInvocationsPerWorkgroup);
    expect(ctx.limits.maxStorageBufferBindingSize).toBe(r.limits.maxStorageBufferBindingSize);
    for (const f of ["shader-f16", "subgroups", "timestamp-query"]) {
      expect(ctx.features.has(f)).toBe(r.features.includes(f));
    }
  });

  it("uploads, runs a kernel, and downloads", async () => {
    const t = ctx.tensor(new Float32Array([1, 2, 3, 4, 5]), [5], "x");
    ctx.run({
      kernel: "add_one",
      code: ADD_ONE,
      bindings: [t, new Uint32Array([5, 0, 0, 0])],
      workgroups: [1],
    });
    ctx.run({
      kernel: "add_one",
      code: ADD_ONE,
      bindings: [t, new Uint32Array([3, 0, 0, 0])],
      workgroups: [1],
    });
    expect([...(await t.read())]).toEqual([3, 4, 5, 5, 6]);
    t.destroy();
    await expectClean(ctx);
  });

  it("orders writes after pending kernels", async () => {
    using t = ctx.tensor(new Float32Array([0, 0]), [2], "x");
    ctx.run({
      kernel: "add_one",
      code: ADD_ONE,
      bindings: [t, new Uint32Array([2, 0, 0, 0])],
      workgroups: [1],
    });
    ctx.write(t, new Float32Array([10]), 1);
    expect([...(await t.read())]).toEqual([1, 10]);
  });

  it("reports WGSL compile errors with line:col and source", async () => {
    const bad = "@compute @workgroup_size(1)\nfn main() {\n  let x: f32 = undefined_thing;\n}";
    const err = await ctx.compile("broken", bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).code).toBe("SHADER_COMPILE_FAILED");
    expect((err as KernelError).message).toMatch(/3:\d+: .*undefined_thing/);
    expect((err as KernelError).message).toContain("[broken]");
  });

  it("surfaces GPU validation errors as typed errors", async () => {
    using t = ctx.tensor(new Float32Array(4), [4], "x");
    // Binding a storage buffer where the shader expects a uniform is a validation error.
    ctx.run({ kernel: "add_one", code: ADD_ONE, bindings: [t, t.buffer], workgroups: [1] });
    const err = await ctx.sync().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).code).toBe("GPU_VALIDATION_FAILED");
    await ctx.sync(); // cleared
  });

  it("rejects bad shapes, dtypes, grids and destroyed tensors with typed errors", async () => {
    expect(() => ctx.tensor(new Float32Array(3), [2, 2])).toThrow(/expected 4 elements/);
    expect(() => ctx.empty([2, -1], "f32")).toThrow(KernelError);
    using t = ctx.tensor(new Float32Array(2), [2], "x");
    expect(() => ctx.write(t, new Int32Array(2) as never)).toThrow(/DTYPE|expected f32/);
    expect(() =>
      ctx.run({ kernel: "add_one", code: ADD_ONE, bindings: [t, new Uint32Array(4)], workgroups: [70000] }),
    ).toThrow(/workgroup count/);
    const d = ctx.tensor(new Float32Array(2), [2], "gone");
    d.destroy();
    await expect(d.read()).rejects.toThrow(/destroyed/);
  });

  it("detects non-finite values and names the kernel", async () => {
    using t = ctx.tensor(new Float32Array([1, Number.NaN, 3, Number.POSITIVE_INFINITY, -0]), [5], "y");
    expect(await countNonFinite(ctx, t)).toBe(2);
    await expect(assertFinite(ctx, t, "my_kernel")).rejects.toThrow(/\[my_kernel\].*2 non-finite/);
  });

  it("times passes with timestamp queries when available", async () => {
    if (!ctx.hasTimestamps) {
      expect(ctx.startProfile()).toBe(false);
      return;
    }
    using t = ctx.tensor(new Float32Array(64), [64], "x");
    expect(ctx.startProfile()).toBe(true);
    ctx.run({
      kernel: "add_one",
      code: ADD_ONE,
      bindings: [t, new Uint32Array([64, 0, 0, 0])],
      workgroups: [1],
    });
    const times = await ctx.endProfile();
    expect(times).toHaveLength(1);
    expect(times[0]?.kernel).toBe("add_one");
    expect(times[0]?.ns).toBeGreaterThanOrEqual(0);
  });

  it("tracks live tensors and destroys them with the context", async () => {
    const own = await createContext({ label: "own" });
    own.tensor(new Float32Array(8), [8], "a");
    own.empty([4], "u32", "b");
    expect(own.liveTensors).toBe(2);
    await expect(expectClean(own)).rejects.toThrow(/2 tensor\(s\) not destroyed/);
    own.destroy();
    expect(own.liveTensors).toBe(0);
    expect(() => own.empty([1], "f32")).toThrow(/destroyed/);
  });
});

describe("ranged bindings", () => {
  it("binds an aligned byte range of a tensor", async () => {
    using t = ctx.tensor(new Float32Array(12), [12], "x");
    // elements 4..11 (offset 16 bytes): add one to the first 3 of them
    ctx.run({
      kernel: "add_one",
      code: ADD_ONE,
      bindings: [{ buffer: t, offset: 16, size: 32 }, new Uint32Array([3, 0, 0, 0])],
      workgroups: [1],
    });
    expect([...(await t.read())]).toEqual([0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0]);
  });

  it("rejects misaligned and out-of-range ranges", () => {
    using t = ctx.tensor(new Float32Array(12), [12], "x");
    const u = new Uint32Array(4);
    expect(() =>
      ctx.run({ kernel: "add_one", code: ADD_ONE, bindings: [{ buffer: t, offset: 4 }, u], workgroups: [1] }),
    ).toThrow(/offset: expected a non-negative multiple of/);
    expect(() =>
      ctx.run({
        kernel: "add_one",
        code: ADD_ONE,
        bindings: [{ buffer: t, offset: 16, size: 64 }, u],
        workgroups: [1],
      }),
    ).toThrow(/range: expected a positive multiple of 4 bytes within 48 bytes/);
  });
});

describe("deferred destruction", () => {
  it("destroying a tensor that a recorded pass still uses is safe", async () => {
    using out = ctx.tensor(new Float32Array([5, 6]), [2], "out");
    const tmp = ctx.tensor(new Float32Array([1, 2]), [2], "tmp");
    ctx.run({
      kernel: "add_one",
      code: ADD_ONE,
      bindings: [tmp, new Uint32Array([2, 0, 0, 0])],
      workgroups: [1],
    });
    tmp.destroy(); // before the pass was submitted
    ctx.run({
      kernel: "add_one",
      code: ADD_ONE,
      bindings: [out, new Uint32Array([2, 0, 0, 0])],
      workgroups: [1],
    });
    expect([...(await out.read())]).toEqual([6, 7]);
    await ctx.sync(); // no "used in submit while destroyed" validation error
  });
});
