import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["@sage/source"] },
  ssr: { resolve: { conditions: ["@sage/source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    // Sized for the worst case the suite must survive: a fresh 2-core CI machine with a cold Mesa
    // shader cache (every pipeline compiled by LLVM on first use) and another CPU-heavy process
    // beside it. Typical GPU tests take a tenth of this; no test asserts on time.
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
