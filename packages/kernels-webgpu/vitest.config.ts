import { sageVitestConfig } from "../../vitest.shared.js";

export default sageVitestConfig({
  // test/gc-stress.test.ts forces garbage collection between awaits (dawn.node lifetime check);
  // it fails, never skips, when `gc` is not exposed.
  test: { execArgv: ["--expose-gc"] },
});
