/** Node-only: `node:fs` behind `WebGpuPolicy.saveState`/`loadState` (installed by the Node entry, `index.ts`). */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadModelDir, saveModelDir } from "@sage/model";
import { setPolicyStateFiles } from "./webgpu-policy.js";

setPolicyStateFiles({
  readFile: async (dir, name) => new Uint8Array(await readFile(join(dir, name))),
  writeFile: (dir, name, data) => writeFile(join(dir, name), data),
  saveModel: (dir, config, weights) => saveModelDir(join(dir, "model"), config, weights),
  loadModel: (dir) => loadModelDir(join(dir, "model")),
});
