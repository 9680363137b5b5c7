import { Readable } from "node:stream";
import type { Context } from "moleculer";
import { defineActor, type ActorDefinition } from "../actors/actor-spec";
import type { ExpertConfig } from "../config/file-schema";
import type { ExpertAnswer } from "../lib/circle/expert-answer";
import type { ExpertStatus } from "../lib/circle/expert-directory";
import { PriceTable } from "../lib/costs/price-table";
import { CoreError, errorClassFor, ProviderResponseError } from "../lib/errors";
import { ExpertCaller, type AskInput } from "../lib/experts/expert-caller";
import { errorChunk, readExpertStream, type ExpertStreamChunk, type ExpertStreamEvent } from "../lib/experts/expert-stream";
import { createProviderClient } from "../lib/providers/create-provider-client";
import type { ProviderClient } from "../lib/providers/types";
import type { NodeRuntime } from "../mixins/node-runtime";
import { CircleMetrics } from "../mixins/circle-metrics";
import { deadlineOf } from "../mixins/resilience.middleware";
import { traceStepOf } from "../mixins/tracing-step";

/** Event emitted when an expert's provider breaker changes state. */
export const BREAKER_EVENT = "expert.breaker.changed";

interface AskParams extends AskInput {
  /** Experts already tried on this request's fallback chain (loops are cut). */
  visited?: string[];
}

const askParams = {
  messages: {
    type: "array",
    min: 1,
    max: 256,
    items: {
      type: "object",
      strict: true,
      props: { role: { type: "enum", values: ["system", "user", "assistant"] }, content: { type: "string", max: 200_000 } },
    },
  },
  maxTokens: { type: "number", integer: true, positive: true, max: 200_000, optional: true },
  temperature: { type: "number", min: 0, max: 2, optional: true },
  visited: { type: "array", items: "string", max: 64, optional: true },
  $$strict: true,
};

/**
 * The error an expert answers with once its own retries are spent: marked not
 * retryable, so the caller's middleware does not run the whole chain again,
 * and carrying what the fallbacks answered.
 */
function spent(err: unknown, extra: Record<string, unknown>): unknown {
  if (!(err instanceof CoreError)) return err;
  const cls = errorClassFor(err.code);
  return cls ? new cls(err.message, { data: { ...err.data, ...extra }, retryable: false, cause: err }) : err;
}

/** A fallback's stream, told as this expert's (as `ask` answers for its fallbacks); errors stay in the stream. */
async function* asThisExpert(stream: Readable, expertId: string): AsyncGenerator<ExpertStreamChunk> {
  try {
    for await (const chunk of readExpertStream(stream, expertId)) {
      yield chunk.type === "done" ? { type: "done", answer: { ...chunk.answer, expertId } } : chunk;
    }
  } catch (err) {
    yield errorChunk(err);
  }
}

interface ExpertState {
  caller: ExpertCaller;
  metrics: CircleMetrics;
}

type Ctx = Context<Record<string, unknown>, Record<string, unknown>>;

/** What an expert call was asked, as the caller's params had it (the fallback chain excluded). */
function askInputOf(params: AskParams): AskInput {
  return {
    messages: params.messages,
    ...(params.maxTokens !== undefined ? { maxTokens: params.maxTokens } : {}),
    ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
  };
}

/**
 * After `expert` failed with `err`: the first of its fallbacks (not yet on
 * this request's chain) that answers, through `call`; else `err`, spent,
 * naming what each fallback answered.
 */
async function fallBack<T>(
  expert: ExpertConfig,
  params: AskParams,
  err: unknown,
  deadline: number,
  call: (id: string, visited: string[]) => Promise<T>,
  onAnswer: (id: string) => void,
): Promise<T> {
  const visited = [...(params.visited ?? []), expert.id];
  const candidates = expert.fallback.filter((id) => !visited.includes(id));
  const tried: Array<{ expertId: string; code: string; message: string }> = [];
  for (const id of candidates) {
    if (Date.now() >= deadline) break;
    try {
      const answer = await call(id, visited);
      onAnswer(id);
      return answer;
    } catch (fallbackErr) {
      const e = fallbackErr as { code?: string; message?: string };
      tried.push({ expertId: id, code: e.code ?? "INTERNAL", message: e.message ?? String(fallbackErr) });
    }
  }
  throw spent(err, tried.length > 0 ? { expert: expert.id, fallbacks: tried } : { expert: expert.id });
}

/**
 * The rest of a stream whose first chunk is in hand, for `expert.<id>.stream`:
 * a failure after it becomes the stream's last chunk (the caller already has
 * the stream, so an error can only travel inside it); `done` and failures are
 * counted in the metrics as `ask` counts them.
 */
async function* relay(
  first: ExpertStreamEvent,
  rest: AsyncIterator<ExpertStreamEvent>,
  expert: ExpertConfig,
  metrics: CircleMetrics,
  started: number,
): AsyncGenerator<ExpertStreamChunk> {
  let text = "";
  let chunk: IteratorResult<ExpertStreamEvent> = { done: false, value: first };
  try {
    for (; !chunk.done; chunk = await rest.next()) {
      const c = chunk.value;
      if (c.type === "delta") text += c.text;
      else metrics.answered(expert.id, { ...c.answer, text });
      yield c;
    }
  } catch (err) {
    metrics.failed(expert.id, expert.provider, err instanceof CoreError ? err.code : "INTERNAL", Date.now() - started);
    yield errorChunk(err);
  } finally {
    await rest.return?.();
  }
}

function expertActor(expert: ExpertConfig, client: ProviderClient, prices: PriceTable): ActorDefinition<ExpertState> {
  const name = `expert.${expert.id}`;
  return defineActor<ExpertState>({
    name,
    kind: "expert",
    state: () => ({ caller: undefined as unknown as ExpertCaller, metrics: undefined as unknown as CircleMetrics }),
    started(self) {
      const metrics = CircleMetrics.for(self.broker);
      self.state.metrics = metrics;
      metrics.breaker(expert.id, client.baseUrl, "closed");
      self.state.caller = new ExpertCaller({
        expert,
        client,
        prices,
        onBreakerChange: (state) => {
          metrics.breaker(expert.id, client.baseUrl, state);
          self.logger.warn(`Circuit breaker of ${name} (${client.provider} ${client.baseUrl}) is now ${state}`);
          void self.broker.broadcast(BREAKER_EVENT, { expert: expert.id, endpoint: client.baseUrl, state });
        },
      });
    },
    actions: {
      status: {
        handler(_ctx, self): ExpertStatus {
          const { breaker } = self.state.caller;
          return { nodeID: self.nodeID, endpoint: breaker.endpoint, breaker: breaker.state };
        },
      },
      ask: {
        params: askParams,
        async handler(ctx: Ctx, self): Promise<ExpertAnswer> {
          const params = ctx.params as unknown as AskParams;
          const deadline = deadlineOf(ctx);
          const input = askInputOf(params);
          const started = Date.now();
          try {
            const answer = await self.state.caller.ask(input, deadline, undefined, traceStepOf(ctx, expert.provider));
            self.state.metrics.answered(expert.id, answer);
            return answer;
          } catch (err) {
            self.state.metrics.failed(expert.id, expert.provider, err instanceof CoreError ? err.code : "INTERNAL", Date.now() - started);
            const answer = await fallBack(
              expert,
              params,
              err,
              deadline,
              (id, visited) => ctx.call<ExpertAnswer, AskParams>(`expert.${id}.ask`, { ...input, visited }),
              (id) => self.logger.info(`${name} failed (${(err as Error).message}); ${id} answered in its place`),
            );
            return { ...answer, expertId: expert.id };
          }
        },
      },
      /**
       * The answer as it is written: a Readable in object mode of
       * ExpertStreamChunk (lib/experts/expert-stream.ts), returned once the
       * first chunk is in, so a failure before any text (fallbacks tried, as
       * for `ask`) is this call's error and a caller can still answer with a
       * status. Crosses NATS as a Moleculer response stream.
       */
      stream: {
        params: askParams,
        async handler(ctx: Ctx, self): Promise<Readable> {
          const params = ctx.params as unknown as AskParams;
          const deadline = deadlineOf(ctx);
          const input = askInputOf(params);
          const started = Date.now();
          const source = self.state.caller.stream(input, deadline);
          let first: ExpertStreamEvent;
          try {
            const opened = await source.next();
            if (opened.done) throw new ProviderResponseError(`${expert.provider} ended the stream without an answer`, { data: { expert: expert.id } });
            first = opened.value;
          } catch (err) {
            self.state.metrics.failed(expert.id, expert.provider, err instanceof CoreError ? err.code : "INTERNAL", Date.now() - started);
            const other = await fallBack(
              expert,
              params,
              err,
              deadline,
              (id, visited) => ctx.call<Readable, AskParams>(`expert.${id}.stream`, { ...input, visited }),
              (id) => self.logger.info(`${name} failed (${(err as Error).message}); ${id} answers in its place`),
            );
            return Readable.from(asThisExpert(other, expert.id));
          }
          return Readable.from(relay(first, source, expert, self.state.metrics, started));
        },
      },
    },
  });
}

/**
 * `expert.<id>` for every configured expert: each asks its provider behind its
 * own circuit breaker, retries what is retryable within the call's deadline,
 * and falls back to the experts in its `fallback` list.
 */
export default function createExpertActors(runtime: Pick<NodeRuntime, "config">): ActorDefinition[] {
  const prices = new PriceTable(runtime.config.prices);
  // Clients are made here so a missing key or base URL stops the start (exit 2) naming the variable to set.
  return runtime.config.experts.map((expert) => expertActor(expert, createProviderClient(expert, runtime.config.providerEnv), prices) as unknown as ActorDefinition);
}
