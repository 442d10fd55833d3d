/**
 * Atomic, durable file writes: `@sage/core/node`'s (npm `write-file-atomic`, then an fsync of the
 * folder), under the names the trainer has exported (`@sage/trainer/atomic`).
 */
export {
  fsyncDir,
  writeFileAtomic as atomicWriteFile,
  writeJsonAtomic as atomicWriteJson,
} from "@sage/core/node";
