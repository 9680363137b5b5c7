import { z } from "zod";
import { chatRequestSchema } from "./chat-request";

const openAiError = {
  description: "An error in OpenAI's shape, with CORE's code and the request id",
  content: {
    "application/json": {
      schema: {
        type: "object",
        required: ["error"],
        properties: {
          error: {
            type: "object",
            required: ["message", "type", "code"],
            properties: {
              message: { type: "string" },
              type: { type: "string" },
              code: { type: "string" },
              param: { type: ["string", "null"] },
              requestId: { type: "string" },
              details: { type: "object" },
            },
          },
        },
      },
    },
  },
};

const errors = Object.fromEntries(["400", "401", "402", "403", "404", "413", "422", "429", "503"].map((status) => [status, openAiError]));

/** The OpenAI-compatible endpoints as OpenAPI operations (the request schema is the one the action validates with). */
export function openAiOperations(): Array<{ method: "get" | "post"; path: string; operation: Record<string, unknown> }> {
  const request = z.toJSONSchema(chatRequestSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  delete request.$schema;
  return [
    {
      method: "post",
      path: "/v1/chat/completions",
      operation: {
        operationId: "createChatCompletion",
        summary: "OpenAI-compatible chat completion: model `core/circle` answers with the consensus, `core/<expert-id>` passes through to one expert (SSE when `stream` is true)",
        tags: ["openai"],
        description: "Requires permission `consult:run`.",
        requestBody: { required: true, content: { "application/json": { schema: request } } },
        responses: {
          "200": {
            description: "A chat.completion object, or with `stream: true` a text/event-stream of chat.completion.chunk objects ending with `data: [DONE]`",
            content: {
              "application/json": { schema: { type: "object", required: ["id", "object", "choices"], properties: { id: { type: "string" }, object: { const: "chat.completion" }, choices: { type: "array" } } } },
              // Per event (OpenAPI 3.1 reads a stream's `schema` as each event's): `data` is a chunk's JSON, or [DONE] last.
              "text/event-stream": {
                schema: { type: "object", required: ["data"], properties: { data: { type: "string", description: "A chat.completion.chunk as JSON, or `[DONE]`" } } },
              },
            },
          },
          ...errors,
          default: openAiError,
        },
      },
    },
    {
      method: "get",
      path: "/v1/models",
      operation: {
        operationId: "listModels",
        summary: "The models CORE answers to: `core/circle` and `core/<expert-id>` for each configured expert",
        tags: ["openai"],
        description: "Requires permission `experts:read`.",
        responses: {
          "200": {
            description: "A list of models",
            content: { "application/json": { schema: { type: "object", required: ["object", "data"], properties: { object: { const: "list" }, data: { type: "array" } } } } },
          },
          ...errors,
          default: openAiError,
        },
      },
    },
  ];
}
