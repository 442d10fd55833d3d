import { describeValue, TrainerError } from "./errors.js";

/** One message of a conversational (TRL "conversational" format) example. */
export interface ChatMessage {
  readonly role: "system" | "user" | "assistant";
  readonly content: string;
}

/**
 * A chat template: a plain function from messages to text. Templates are code you pass in;
 * nothing from a data file or tokenizer config is ever evaluated.
 * `addGenerationPrompt` appends the text that opens an assistant turn, so that
 * `template(prompt, {addGenerationPrompt: true})` is a prefix of `template([...prompt, answer])`.
 */
export type ChatTemplate = (
  messages: readonly ChatMessage[],
  options: { readonly addGenerationPrompt: boolean },
) => string;

/** ChatML (Qwen2 family): `<|im_start|>{role}\n{content}<|im_end|>\n` per message; generation prompt `<|im_start|>assistant\n`. */
export const chatmlTemplate: ChatTemplate = (messages, { addGenerationPrompt }) => {
  let text = "";
  for (const m of messages) text += `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`;
  if (addGenerationPrompt) text += "<|im_start|>assistant\n";
  return text;
};

const PLAIN_ROLE: Record<ChatMessage["role"], string> = {
  system: "System",
  user: "User",
  assistant: "Assistant",
};

/** Plain text: `System: …\n`, `User: …\n`, `Assistant: …\n` per message; generation prompt `Assistant:`. */
export const plainTemplate: ChatTemplate = (messages, { addGenerationPrompt }) => {
  let text = "";
  for (const m of messages) text += `${PLAIN_ROLE[m.role]}: ${m.content}\n`;
  if (addGenerationPrompt) text += "Assistant:";
  return text;
};

/** Built-in templates by name (the CLI's `chatTemplate` config field). */
export const CHAT_TEMPLATES: Readonly<Record<"chatml" | "plain", ChatTemplate>> = {
  chatml: chatmlTemplate,
  plain: plainTemplate,
};

/**
 * Render a conversational pair into (prompt, completion) text: the prompt is rendered with the
 * generation prompt, the completion is what the full conversation adds after it.
 * Throws `TEMPLATE_INVALID` when the template's prompt rendering is not a prefix of the full one.
 */
export function renderCompletion(
  template: ChatTemplate,
  prompt: readonly ChatMessage[],
  completion: readonly ChatMessage[],
): { prompt: string; completion: string } {
  const promptText = template(prompt, { addGenerationPrompt: true });
  const full = template([...prompt, ...completion], { addGenerationPrompt: false });
  if (typeof promptText !== "string" || typeof full !== "string" || !full.startsWith(promptText)) {
    throw new TrainerError(
      "TEMPLATE_INVALID",
      `chat template must render the prompt (with generation prompt) as a prefix of the full conversation; ` +
        `prompt rendered as ${describeValue(promptText)}, full conversation as ${describeValue(full)}`,
    );
  }
  return { prompt: promptText, completion: full.slice(promptText.length) };
}
