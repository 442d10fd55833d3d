import { sageVitestConfig } from "../../vitest.shared.js";

export default sageVitestConfig({
  test: {
    // Sized for a cold, busy 2-core CI machine: a production build of the app, SwiftShader compiling
    // every shader on first use and running a short DPO run of two selectors in software, next to
    // Dawn/lavapipe in this process. Typical runs take a fraction of this; no test asserts on time.
    testTimeout: 900_000,
    hookTimeout: 900_000,
    // One browser at a time.
    fileParallelism: false,
  },
});
