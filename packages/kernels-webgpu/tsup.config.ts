import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/testing.ts"],
  format: ["esm"],
  // The declarations name WebGPU's types (GPUDevice, GPUBuffer, …): point them at @webgpu/types
  // (a dependency) so a consumer type-checks without skipLibCheck.
  dts: { banner: '/// <reference types="@webgpu/types" />' },
  sourcemap: true,
  clean: true,
  target: "es2022",
});
