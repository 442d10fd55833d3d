/**
 * The peer: jax-js (`@jax-js/jax`) under `jit`, on its WebGPU backend (same adapter as the
 * project's context: `navigator.gpu` is the context's GPU instance, see `lib/gpu.ts`) and on its
 * Wasm (CPU) backend. Imported lazily, after `navigator.gpu` exists.
 */
import type * as JaxModule from "@jax-js/jax";
import type { LogprobBlock, LogprobRunner, MatmulDims, MatmulRunner } from "./impl.js";

export type Jax = typeof JaxModule;
export type JaxDevice = "webgpu" | "wasm";

let loaded: Promise<{ jax: Jax; devices: JaxDevice[] }> | undefined;

/** Import jax-js and start its WebGPU and Wasm backends once. */
export function loadJax(): Promise<{ jax: Jax; devices: JaxDevice[] }> {
  loaded ??= (async () => {
    const jax = (await import("@jax-js/jax")) as Jax;
    const started = await jax.init("webgpu", "wasm");
    return { jax, devices: started.filter((d): d is JaxDevice => d === "webgpu" || d === "wasm") };
  })();
  return loaded;
}

/** The installed jax-js version (its package.json, found next to the resolved entry point). */
export async function jaxVersion(): Promise<string> {
  try {
    const { createRequire } = await import("node:module");
    const { readFileSync } = await import("node:fs");
    const path = await import("node:path");
    const entry = createRequire(import.meta.url).resolve("@jax-js/jax");
    let dir = path.dirname(entry);
    for (let i = 0; i < 4; i++, dir = path.dirname(dir)) {
      try {
        const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as {
          name?: string;
          version?: string;
        };
        if (pkg.name === "@jax-js/jax") return pkg.version ?? "unknown";
      } catch {
        // no package.json at this level
      }
    }
    return "unknown";
  } catch {
    return "unknown";
  }
}

export async function jaxLogprobRunner(
  device: JaxDevice,
  pool: readonly LogprobBlock[],
  rows: number,
  V: number,
): Promise<LogprobRunner> {
  const { jax } = await loadJax();
  const np = jax.numpy;
  // jit(takeAlongAxis(logSoftmax(x), t[:, None], axis 1)): the usual way to write it in jax.
  // jit has no device option: it runs where its inputs live (committed to `device` below).
  const f = jax.jit((x: JaxModule.Array, t: JaxModule.Array) =>
    np.takeAlongAxis(jax.nn.logSoftmax(x, -1), t, 1),
  );
  const xs = pool.map((b) => np.array(b.logits, { shape: [rows, V], device }));
  const ts = pool.map((b) => np.array(b.targets, { shape: [rows, 1], dtype: np.int32, device }));
  await jax.blockUntilReady([...xs, ...ts]);
  const call = (i: number) => f((xs[i] as JaxModule.Array).ref, (ts[i] as JaxModule.Array).ref);
  return {
    async runOnce(i) {
      const y = call(i);
      if (y.device !== device) throw new Error(`jax-js ran on '${y.device}', expected '${device}'`);
      const data = (await y.data()) as Float32Array;
      return Float32Array.from(data);
    },
    async runBlocks(order) {
      for (const i of order) {
        const y = call(i);
        await y.blockUntilReady();
        y.dispose();
      }
    },
    dispose() {
      for (const a of [...xs, ...ts]) a.dispose();
      f.dispose();
    },
  };
}

export async function jaxMatmulRunner(
  device: JaxDevice,
  a: Float32Array,
  b: Float32Array,
  d: MatmulDims,
): Promise<MatmulRunner> {
  const { jax } = await loadJax();
  const np = jax.numpy;
  const f = jax.jit((x: JaxModule.Array, y: JaxModule.Array) => np.matmul(x, y));
  const A = np.array(a, { shape: [d.m, d.k], device });
  const B = np.array(b, { shape: [d.k, d.n], device });
  await jax.blockUntilReady([A, B]);
  const call = () => f(A.ref, B.ref);
  return {
    async runOnce() {
      const y = call();
      return Float32Array.from((await y.data()) as Float32Array);
    },
    async run() {
      const y = call();
      await y.blockUntilReady();
      y.dispose();
    },
    dispose() {
      A.dispose();
      B.dispose();
      f.dispose();
    },
  };
}
