import { defineConfig } from "tsup";

export default defineConfig({
  // atomic.ts is a light entry of its own (`@sage/trainer/atomic`): `sage select` needs only it.
  entry: ["src/index.ts", "src/atomic.ts", "src/browser.ts"],
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "es2022",
});
