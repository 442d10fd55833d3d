/**
 * SIGINT/SIGTERM handling for a training loop: the first signal only *requests* a stop, which the
 * loop honours after the current step by writing a checkpoint and returning; a second signal
 * exits at once (exit code 128 + signal number), leaving the last complete checkpoint.
 */
export class StopController {
  #signal: NodeJS.Signals | undefined;
  #reason: string | undefined;
  #installed: Array<[NodeJS.Signals, () => void]> = [];

  /** True once a signal arrived or {@link request} was called. */
  get requested(): boolean {
    return this.#reason !== undefined;
  }

  /** The signal that requested the stop, if one did. */
  get signal(): NodeJS.Signals | undefined {
    return this.#signal;
  }

  get reason(): string | undefined {
    return this.#reason;
  }

  /** Ask the loop to stop after the current step (tests, a time budget). */
  request(reason: string): void {
    this.#reason ??= reason;
  }

  /** Listen for SIGINT and SIGTERM (once per controller). `log` receives a one-line notice. */
  install(log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): this {
    if (this.#installed.length > 0) return this;
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      const handler = () => {
        if (this.requested) {
          log(`received ${sig} again: exiting now; the last complete checkpoint is kept`);
          process.exit(sig === "SIGINT" ? 130 : 143);
        }
        this.#signal = sig;
        this.request(sig);
        log(`received ${sig}: writing a checkpoint after this step, then exiting (send again to exit now)`);
      };
      process.on(sig, handler);
      this.#installed.push([sig, handler]);
    }
    return this;
  }

  /** Remove the signal listeners. */
  dispose(): void {
    for (const [sig, handler] of this.#installed) process.off(sig, handler);
    this.#installed = [];
  }
}

/** Conventional exit code for a process stopped by `signal` (130 for SIGINT, 143 for SIGTERM). */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return signal === "SIGINT" ? 130 : signal === "SIGTERM" ? 143 : 1;
}
