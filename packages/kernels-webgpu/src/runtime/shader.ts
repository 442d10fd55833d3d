import { KernelError } from "./errors.js";

/** Build a `SHADER_COMPILE_FAILED` error that quotes each message with `line:col` and the source around it. */
export function formatCompileError(
  kernel: string,
  code: string,
  messages: readonly GPUCompilationMessage[],
): KernelError {
  const lines = code.split("\n");
  const parts = messages.map((m) => {
    const from = Math.max(0, m.lineNum - 3);
    const excerpt = lines
      .slice(from, m.lineNum + 2)
      .map((l, i) => `${String(from + i + 1).padStart(4)}${from + i + 1 === m.lineNum ? ">" : " "}| ${l}`)
      .join("\n");
    return `${m.lineNum}:${m.linePos}: ${m.message}\n${excerpt}`;
  });
  return new KernelError(
    "SHADER_COMPILE_FAILED",
    `WGSL compile error\n${parts.join("\n\n")}\n--- full source ---\n${code}`,
    { kernel },
  );
}
