import { sageVitestConfig } from "../../vitest.shared.js";

export default sageVitestConfig();
