import { z } from "zod";
import { toFieldIssues } from "../../config/issues";
import { ValidationError } from "../errors";

/** Messages in one request; the expert actors accept as many. */
export const MAX_MESSAGES = 256;
/** Longest message, in characters; the expert actors accept as long. */
export const MAX_MESSAGE_CHARS = 200_000;
/** Largest output allowance a caller may ask for. */
export const MAX_OUTPUT_TOKENS = 200_000;

/** A message's text: what PostgreSQL can record (no U+0000), at most MAX_MESSAGE_CHARS. */
const messageText = (error?: string) =>
  z
    .string(error ? { error } : undefined)
    // eslint-disable-next-line no-control-regex -- U+0000 is the character refused
    .regex(/^[^\u0000]*$/, { error: "text without NUL characters (U+0000)" })
    .max(MAX_MESSAGE_CHARS, { error: `at most ${MAX_MESSAGE_CHARS} characters` });

/** One part of an array `content`: only text; images, audio and files are refused by name. */
const textPart = z.object({
  type: z.literal("text", { error: "a text part (CORE's experts take text only)" }),
  text: messageText("the part's text"),
});

const content = z.union(
  [
    messageText(),
    z.array(textPart).min(1, { error: "at least one text part" }).max(64),
  ],
  { error: (issue) => (issue.input === undefined ? "content (text, or an array of text parts)" : undefined) },
);

const name = z.string().max(256).optional();

/**
 * One message. `developer` is OpenAI's newer name for `system` and means the
 * same here. `tool` and `function` messages are refused: CORE's experts do
 * not call tools. An assistant message may have no content (it made tool
 * calls elsewhere); it is then left out of what the expert sees. A union on
 * `role` rather than a refinement, so the OpenAPI document says which
 * messages need content.
 */
const message = z.discriminatedUnion(
  "role",
  [
    z.object({ role: z.enum(["system", "developer", "user"]), content, name }),
    z.object({ role: z.literal("assistant"), content: content.nullish(), name }),
  ],
  { error: "one of system, developer, user, assistant (CORE's experts do not call tools)" },
);

const tokens = z.int({ error: "an integer" }).min(1, { error: `an integer from 1 to ${MAX_OUTPUT_TOKENS}` }).max(MAX_OUTPUT_TOKENS, { error: `an integer from 1 to ${MAX_OUTPUT_TOKENS}` });

/**
 * The body of `POST /v1/chat/completions`, as far as CORE honours it. Fields
 * it does not know are ignored, as OpenAI's API ignores them (`stop`, `top_p`,
 * `seed`, `user`, `tools`, `response_format`, …: accepted, without effect);
 * `null` means "not given", as OpenAI clients send it.
 */
export const chatRequestSchema = z.object({
  model: z.string({ error: "a model id (GET /v1/models lists them)" }).min(1, { error: "a model id (GET /v1/models lists them)" }).max(256),
  messages: z
    .array(message, { error: "an array of messages" })
    .min(1, { error: "at least one message" })
    .max(MAX_MESSAGES, { error: `at most ${MAX_MESSAGES} messages` }),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  /** Deprecated by OpenAI for `max_completion_tokens`; either is read, the newer first. */
  max_tokens: tokens.nullish(),
  max_completion_tokens: tokens.nullish(),
  temperature: z.number({ error: "a number" }).min(0, { error: "a number from 0 to 2" }).max(2, { error: "a number from 0 to 2" }).nullish(),
  /** One choice per request: a consult already weighs several answers. */
  n: z.literal(1, { error: "1 (CORE answers with one choice)" }).nullish(),
});

export type ChatRequestBody = z.output<typeof chatRequestSchema>;
export type ChatMessageInput = ChatRequestBody["messages"][number];

/** A validated request, with the knobs resolved. */
export interface ChatRequest {
  model: string;
  messages: ChatMessageInput[];
  stream: boolean;
  /** Send a usage chunk before `[DONE]` (`stream_options.include_usage`). */
  includeUsage: boolean;
  maxTokens?: number;
  temperature?: number;
}

/** The request, or VALIDATION_FAILED (422) naming every failing field as the body names it (`messages[1].content`). */
export function parseChatRequest(body: unknown): ChatRequest {
  const parsed = chatRequestSchema.safeParse(body ?? {});
  if (!parsed.success) throw new ValidationError("Invalid chat completion request", { issues: toFieldIssues(parsed.error.issues, body) });
  const b = parsed.data;
  const maxTokens = b.max_completion_tokens ?? b.max_tokens ?? undefined;
  const temperature = b.temperature ?? undefined;
  return {
    model: b.model,
    messages: b.messages,
    stream: b.stream === true,
    includeUsage: b.stream === true && b.stream_options?.include_usage === true,
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
  };
}
