/**
 * CORE as an OpenAI-compatible API (`POST /v1/chat/completions`,
 * `GET /v1/models`): the request schema, how a conversation becomes a consult
 * or a pass-through to one expert, and how answers and errors are rendered as
 * OpenAI clients expect them. No Moleculer here: services/openai.service.ts wires it.
 */
export { chatRequestSchema, parseChatRequest, MAX_MESSAGES, MAX_MESSAGE_CHARS, MAX_OUTPUT_TOKENS, type ChatRequest, type ChatRequestBody, type ChatMessageInput } from "./chat-request";
export { CIRCLE_MODEL, MODEL_PREFIX, listModels, resolveModel, type ModelEntry, type ModelList, type ModelTarget } from "./models";
export { conversationText, messageText, toConsultQuestion, toExpertMessages, HISTORY_HEADING, QUESTION_HEADING, type ConsultQuestion } from "./conversation";
export {
  answerOf,
  completionFrom,
  completionId,
  coreInfo,
  openAiFinishReason,
  openAiUsage,
  unixSeconds,
  type ChatCompletion,
  type CoreCompletionInfo,
  type CoreExpertReport,
  type OpenAiFinishReason,
  type OpenAiUsage,
} from "./completion";
export {
  contentChunk,
  eventsOf,
  eventsOfPassThrough,
  finishChunk,
  roleChunk,
  sseCompletion,
  sseData,
  usageChunk,
  SSE_CONTENT_TYPE,
  SSE_DONE,
  SSE_HEADERS,
  type ChatCompletionChunk,
  type ChunkHead,
  type CompletionEvent,
  type SseOptions,
} from "./sse";
export { asCoreError, openAiErrorBody, openAiErrorResponse, openAiErrorType, sendOpenAiError, type OpenAiErrorBody, type OpenAiErrorResponse } from "./openai-error";
export { PassThrough, type PassThroughDeps, type PassThroughEvent, type PassThroughRequest, type PassThroughStream } from "./pass-through";
