import { Readable } from "node:stream";
import type { Context, ServiceBroker, ServiceSchema } from "moleculer";
import type { Consultation } from "../lib/circle/consultation";
import { ConsultationStore } from "../lib/circle/consultation-store";
import type { ExpertAnswer } from "../lib/circle/expert-answer";
import { BudgetLedger } from "../lib/costs/budget-ledger";
import { PriceTable } from "../lib/costs/price-table";
import { readExpertStream } from "../lib/experts/expert-stream";
import type { Logger } from "../lib/logger";
import {
  completionFrom,
  completionId,
  eventsOf,
  eventsOfPassThrough,
  listModels,
  parseChatRequest,
  PassThrough,
  resolveModel,
  sseCompletion,
  SSE_CONTENT_TYPE,
  SSE_HEADERS,
  toConsultQuestion,
  toExpertMessages,
  unixSeconds,
  type ChatCompletion,
  type ChatRequest,
  type CompletionEvent,
  type ModelList,
} from "../lib/openai-compat";
import { requires } from "../mixins/action-permission";
import { auditContextOf } from "../mixins/audit-source";
import type { NodeRuntime } from "../mixins/node-runtime";
import { principalOf } from "../mixins/principal";
import { aggregateHere } from "./aggregator.service";
import { CONSULTATION_COMPLETED } from "./circle.service";

type Ctx = Context<Record<string, unknown>, Record<string, unknown>>;

/** An answer in SSE: the stream moleculer-web pipes to the client, with the headers that make it one. */
function eventStream(ctx: Ctx, head: { id: string; created: number; model: string }, events: AsyncIterable<CompletionEvent>, request: ChatRequest): Readable {
  ctx.meta.$responseType = SSE_CONTENT_TYPE;
  ctx.meta.$responseHeaders = { ...SSE_HEADERS };
  // The id the edge answers with (meta.requestId), else Moleculer's (moleculer-web takes it from X-Request-Id).
  const requestId = auditContextOf(ctx.meta).requestId ?? ctx.requestID;
  return Readable.from(sseCompletion(head, events, { includeUsage: request.includeUsage, ...(requestId ? { requestId } : {}) }));
}

/**
 * `openai.chatCompletions` (the body of `POST /v1/chat/completions`) and
 * `openai.models` (`GET /v1/models`): CORE for any OpenAI client. The model
 * says what answers:
 * - `core/circle` (or `core/circle:<id>,<id>`, a circle of those experts):
 *   `circle.consult`, the consensus as the message. With `stream: true` the
 *   consult is computed first (a consensus has no partial answer), then sent
 *   as one content chunk and `[DONE]`, so a failed consult is still an HTTP error.
 * - `core/<expert-id>`: that expert, passed through (`expert.<id>.ask`, or
 *   `expert.<id>.stream` token by token), budgeted and recorded as a consult
 *   of one expert (lib/openai-compat/pass-through.ts).
 * The caller is `ctx.meta.principal`, as for any consult; `chatCompletions`
 * needs `consult:run`, `models` needs `experts:read`.
 */
export default function createOpenAiService(runtime: NodeRuntime): ServiceSchema {
  const { config, store, shared } = runtime;
  if (!store || !shared) throw new Error("the OpenAI-compatible endpoint needs the store and the shared state");
  const consultations = new ConsultationStore(store);
  const prices = new PriceTable(config.prices);
  const budgets =
    config.budgets.length > 0 ? new BudgetLedger({ rules: config.budgets, shared, spentSince: (principal, since) => consultations.spentSince(principal, since) }) : undefined;
  const listedSince = unixSeconds(Date.now());

  function passThrough(ctx: Ctx, self: { broker: ServiceBroker; logger: Logger }): PassThrough {
    return new PassThrough({
      experts: config.experts,
      nodeId: self.broker.nodeID,
      prices,
      ...(budgets ? { budgets } : {}),
      // After the answer (ConsultationStore.saveAfterAnswer, lib/circle/consultation-writes.ts). What stays: the
      // budget is reserved before and settled before the answer; the row is the same statement, committed with the
      // WAL flushed; this node's reads of it (consultations, costs, budget seeding) wait for it; a stopping node
      // writes it first; a write that fails is logged with the consultation's id. What goes: for the millisecond the
      // write takes, another node may not find it yet, and a crash of this node or of PostgreSQL then loses it.
      save: (c) => consultations.saveAfterAnswer(c, (id, err) => self.logger.error(`Pass-through ${id} was answered but could not be stored: ${(err as Error)?.message ?? String(err)}`)),
      // One answer's consensus is computed here, as the aggregator would (aggregateHere): the actor's hop bought nothing.
      aggregate: (responses) => aggregateHere(self.broker, self.logger, responses),
      onCompleted: (c) => {
        void ctx.emit(CONSULTATION_COMPLETED, {
          id: c.id,
          principal: c.principal,
          experts: c.experts,
          cached: false,
          agreement: c.consensus?.agreement,
          costUsd: c.costUsd,
          durationMs: c.durationMs,
        });
      },
      onBackgroundError: (err) => self.logger.warn(`A pass-through stream failed after its reader left: ${(err as Error)?.message ?? String(err)}`),
    });
  }

  return {
    name: "openai",
    actions: {
      models: requires("experts:read", {
        handler(): ModelList {
          return listModels(config.experts, listedSince);
        },
      }),
      // Whatever the model, an answer is a consult (of the circle or of one expert): the same permission.
      chatCompletions: requires("consult:run", {
        async handler(this: { broker: ServiceBroker; logger: Logger }, ctx: Ctx): Promise<ChatCompletion | Readable> {
          const request = parseChatRequest(ctx.params);
          const target = resolveModel(request.model, config.experts);

          if (target.kind === "circle") {
            const asked = toConsultQuestion(request.messages);
            const consultation = await ctx.call<Consultation, Record<string, unknown>>("circle.consult", {
              ...asked,
              ...(target.experts ? { experts: target.experts } : {}),
              ...(request.maxTokens !== undefined ? { maxTokens: request.maxTokens } : {}),
              ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
            });
            const completion = completionFrom(consultation, request.model, "consult");
            if (!request.stream) return completion;
            return eventStream(ctx, { id: completion.id, created: completion.created, model: request.model }, eventsOf(completion), request);
          }

          const { expertId } = target;
          const call = {
            expertId,
            messages: toExpertMessages(request.messages),
            ...(request.maxTokens !== undefined ? { maxTokens: request.maxTokens } : {}),
            ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
            principal: principalOf(ctx.meta),
            stream: request.stream,
          };
          const runner = passThrough(ctx, this);
          if (!request.stream) {
            const consultation = await runner.ask(call, (question) => ctx.call<ExpertAnswer, typeof question>(`expert.${expertId}.ask`, question));
            return completionFrom(consultation, request.model, "pass-through");
          }
          const opened = await runner.stream(call, async (question) => readExpertStream(await ctx.call<Readable, typeof question>(`expert.${expertId}.stream`, question), expertId));
          const head = { id: completionId(opened.consultationId), created: unixSeconds(opened.started), model: request.model };
          return eventStream(ctx, head, eventsOfPassThrough(opened.events), request);
        },
      }),
    },
  };
}
