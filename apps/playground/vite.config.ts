import { defaultClientConditions, defineConfig } from "vite";
import { noNodeBuiltins } from "./tools/no-node-builtins.js";

export default defineConfig({
  // The shipped checkpoints (packages/cli/assets/<name>/) are served and bundled as static files, not copied.
  publicDir: "../../packages/cli/assets",
  // `@sage/source`: the packages' TypeScript sources; `browser`: their browser entries.
  resolve: { conditions: ["@sage/source", ...defaultClientConditions] },
  plugins: [noNodeBuiltins()],
  build: {
    target: "es2022",
    // mathjs (answer equivalence in @sage/eval-math) is most of the bundle.
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: true,
  },
  server: { port: 5173 },
  preview: { port: 4173 },
});
