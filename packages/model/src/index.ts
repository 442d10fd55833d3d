// Everything that runs in a browser (the `browser` entry), then what reads or writes files.
export * from "./browser.js";
export {
  loadModelDir,
  parseShardIndex,
  type SaveOptions,
  saveModelDir,
} from "./checkpoint.js";
export {
  SafetensorsFile,
  writeFileAtomic,
  writeSafetensorsFile,
} from "./safetensors-file.js";
export { loadTokenizer } from "./tokenizer-file.js";
