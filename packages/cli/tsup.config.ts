import { defineConfig } from "tsup";

export default defineConfig({
  // program.ts is its own entry so that `sage --help` loads the command tree without the libraries.
  entry: ["src/index.ts", "src/program.ts"],
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "es2022",
});
