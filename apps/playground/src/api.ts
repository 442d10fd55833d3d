import type { PlaygroundResult } from "./experiment.js";
import type { PlaygroundSettings } from "./settings.js";

/** What the page exposes on `window.sagePlayground` (the browser test drives it; so can a console). */
export interface PlaygroundApi {
  state: "loading" | "ready" | "running" | "done" | "error";
  error: string | undefined;
  adapter: string | undefined;
  isSoftware: boolean | undefined;
  parameters: number | undefined;
  result: PlaygroundResult | undefined;
  /** ℓθ(y|x) of chosen and rejected responses under the start policy (`WebGpuPolicy.sequenceLogProbs`). */
  sequenceLogProbs(
    pairs: readonly { id: string; prompt: string; chosen: string; rejected: string }[],
  ): Promise<{ chosen: number[]; rejected: number[] }>;
  /** One run with these settings over the form's; resolves when every selector has trained. */
  run(settings?: Partial<PlaygroundSettings>): Promise<PlaygroundResult>;
}

declare global {
  interface Window {
    sagePlayground: PlaygroundApi;
  }
}
