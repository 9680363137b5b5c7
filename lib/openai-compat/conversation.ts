import { MAX_QUESTION_CHARS } from "../circle/consult-request";
import { ValidationError } from "../errors";
import type { ChatMessage } from "../providers/types";
import type { ChatMessageInput } from "./chat-request";

/** A message's text: a string as it is, text parts joined by newlines; no content is empty text. */
export function messageText(m: Pick<ChatMessageInput, "content">): string {
  if (typeof m.content === "string") return m.content;
  return (m.content ?? []).map((p) => p.text).join("\n");
}

const isInstruction = (m: ChatMessageInput) => m.role === "system" || m.role === "developer";

/**
 * The conversation as one expert takes it (a pass-through): the messages in
 * order, `developer` as `system`, and assistant turns without text left out
 * (tool-call turns: the expert would refuse an empty message).
 */
export function toExpertMessages(messages: readonly ChatMessageInput[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const m of messages) {
    const content = messageText(m);
    if (m.role === "assistant" && content === "") continue;
    out.push({ role: isInstruction(m) ? "system" : (m.role as "user" | "assistant"), content });
  }
  if (!out.some((m) => m.role !== "system")) {
    throw new ValidationError("Invalid chat completion request", {
      issues: [{ field: "messages", received: "system messages only", message: "at least one user message (the expert answers the conversation)" }],
    });
  }
  return out;
}

/** What a consult is asked: the circle's question and system prompt. */
export interface ConsultQuestion {
  question: string;
  system?: string;
}

/** Heads the earlier turns when a conversation goes to the circle (see toConsultQuestion). */
export const HISTORY_HEADING = "The conversation so far:";
/** Heads the message the circle answers, after the earlier turns. */
export const QUESTION_HEADING = "Answer the user's last message:";

function tooLong(what: string, length: number): ValidationError {
  return new ValidationError("Invalid chat completion request", {
    issues: [{ field: "messages", received: `${length} characters`, message: `${what} of at most ${MAX_QUESTION_CHARS} characters for the circle (a consult's question)` }],
  });
}

/**
 * A conversation as one text, the way the circle is asked it (see
 * toConsultQuestion) and a pass-through is recorded: the system messages,
 * joined by a blank line, are the system prompt; a single turn is the
 * question as it is; several turns are a transcript (`User: …` /
 * `Assistant: …`, one blank line apart) under "The conversation so far:",
 * then "Answer the user's last message:" and the last message.
 */
export function conversationText(messages: readonly ChatMessage[]): ConsultQuestion {
  const system = messages.filter((m) => m.role === "system" && m.content.trim() !== "").map((m) => m.content).join("\n\n");
  const turns = messages.filter((m) => m.role !== "system");
  const last = turns.at(-1);
  const earlier = turns.slice(0, -1);
  const question =
    earlier.length === 0
      ? (last?.content ?? "")
      : [HISTORY_HEADING, "", earlier.map((m) => `${m.role === "user" ? "User" : "Assistant"}: ${m.content}`).join("\n\n"), "", QUESTION_HEADING, last!.content].join("\n");
  return { question, ...(system ? { system } : {}) };
}

/**
 * A conversation as one consult question, for `core/circle`: a consult takes
 * a system prompt and one question, so the conversation is told as one text
 * (conversationText). Every expert sees the same text, and identical
 * conversations share the consult cache. The last message must be the
 * user's (the circle answers it), and the texts must fit a consult's limits.
 */
export function toConsultQuestion(messages: readonly ChatMessageInput[]): ConsultQuestion {
  const plain = messages
    .filter((m) => !(m.role === "assistant" && messageText(m) === ""))
    .map((m): ChatMessage => ({ role: isInstruction(m) ? "system" : (m.role as "user" | "assistant"), content: messageText(m) }));
  const last = plain.filter((m) => m.role !== "system").at(-1);
  if (!last || last.role !== "user" || last.content.trim() === "") {
    throw new ValidationError("Invalid chat completion request", {
      issues: [{ field: "messages", received: last?.role ?? "no user message", message: "a conversation that ends with a user message that is not blank (the circle answers it)" }],
    });
  }
  const asked = conversationText(plain);
  if (asked.question.length > MAX_QUESTION_CHARS) throw tooLong("a conversation", asked.question.length);
  if (asked.system && asked.system.length > MAX_QUESTION_CHARS) throw tooLong("system messages", asked.system.length);
  return asked;
}
