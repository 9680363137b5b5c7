import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Context, ServiceSchema } from "moleculer";
import ApiGateway, { type ApiSettingsSchema } from "moleculer-web";
import OpenAI, { APIError, NotFoundError, PermissionDeniedError, UnprocessableEntityError } from "openai";
import type { Consultation } from "../../../lib/circle/consultation";
import type { CostSummary } from "../../../lib/costs/cost-summary";
import { sendOpenAiError, type CoreCompletionInfo } from "../../../lib/openai-compat";
import { toCoreError } from "../../../mixins/to-core-error";
import { startNode, type CoreNode } from "../../../node";
import { circleNodeEnv, writeCoreConfig } from "../../helpers/circle-node";
import { testSchema } from "../../helpers/pg-schema";
import { startProviderStub, type ProviderStub } from "../../helpers/provider-stubs";
import { uniqueName } from "../../helpers/unique";

/**
 * The OpenAI-compatible endpoint end to end: the official `openai` client
 * against a moleculer-web gateway with the two /v1 routes, on a node running
 * the circle and the openai service; the experts run on a second node, so
 * every expert call (and every streamed answer) crosses the real NATS.
 */

const namespace = uniqueName("openai");
const pg = testSchema("openai");
const PRICES = { claude: { inputPerMTok: 3, outputPerMTok: 15 }, gpt: { inputPerMTok: 2.5, outputPerMTok: 10 } };
const PARIS = "The capital of France is Paris, on the Seine. Final answer: Paris";
const STREAMED = "Paris has been the capital of France for most of the last thousand years. Final answer: Paris";

let stub: ProviderStub;
let expertsNode: CoreNode;
let edge: CoreNode;
let baseURL: string;

type Req = IncomingMessage & { $ctx?: Context };

/** What the lead's /v1 routes do, minimally: the two aliases, a principal (here from a test header), OpenAI-shaped errors. */
const gateway: ServiceSchema<ApiSettingsSchema> = {
  name: "gateway",
  mixins: [ApiGateway],
  settings: {
    port: 0,
    ip: "127.0.0.1",
    log4XXResponses: false,
    routes: [
      {
        path: "/v1",
        mappingPolicy: "restrict",
        bodyParsers: { json: { limit: "1mb" } },
        aliases: { "POST chat/completions": "openai.chatCompletions", "GET models": "openai.models" },
        callOptions: { timeout: 60_000 },
        onBeforeCall(ctx: Context<unknown, Record<string, unknown>>, _route: unknown, req: Req) {
          ctx.meta.principal = { id: String(req.headers["x-test-principal"] ?? "openai-user"), roles: [String(req.headers["x-test-role"] ?? "operator")] };
        },
        onError(req: Req, res: ServerResponse, err: unknown) {
          sendOpenAiError(res, toCoreError(err), req.$ctx?.requestID ?? undefined);
        },
      },
    ],
  },
  methods: {
    // moleculer-web logs every error whose `code` is not a number (CORE's are strings); the answer is what is tested here.
    errorHandler(this: { sendError(req: Req, res: ServerResponse, err: unknown): void }, req: Req, res: ServerResponse, err: unknown) {
      this.sendError(req, res, err);
    },
  },
};

const client = (principal = "openai-user", maxRetries = 0, role = "operator") =>
  new OpenAI({ apiKey: "unused", baseURL, maxRetries, defaultHeaders: { "x-test-principal": principal, "x-test-role": role } });

beforeAll(async () => {
  stub = await startProviderStub({ apiKey: "k" });
  const configFile = writeCoreConfig({
    experts: [
      { id: "claude", provider: "anthropic", model: "claude-sonnet-4-5", baseUrl: stub.baseUrl("anthropic"), price: PRICES.claude },
      { id: "gpt", provider: "openai", model: "gpt-4o", baseUrl: stub.baseUrl("openai"), price: PRICES.gpt },
    ],
    // Room for nothing much: a pass-through of up to 100 000 output tokens at $10/MTok would pass it.
    budgets: [{ principal: "frugal", period: "day", limitUsd: 0.5 }],
  });
  const env = (nodeId: string) => circleNodeEnv({ namespace, pg, nodeId, configFile, apiKey: "k" });
  expertsNode = await startNode({ env: env("experts-node"), services: ["supervisor", "experts", "aggregator"] });
  edge = await startNode({ env: env("edge-node"), services: ["supervisor", "circle", "costs", "openai"], schemas: [gateway] });
  await edge.broker.waitForServices(["expert.claude", "expert.gpt", "aggregator", "circle", "openai"], 10_000);
  const server = (edge.broker.getLocalService("gateway") as unknown as { server: Server }).server;
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  await edge?.stop();
  await expertsNode?.stop();
  await stub?.close();
  await pg.drop();
});

beforeEach(() => stub.reset());

const core = (x: unknown) => (x as { core: CoreCompletionInfo }).core;

describe("the official openai client against CORE", () => {
  it("lists the models: the circle and each expert", async () => {
    const models = [];
    for await (const m of client().models.list()) models.push(m);
    expect(models.map((m) => m.id)).toEqual(["core/circle", "core/claude", "core/gpt"]);
    for (const m of models) expect(m).toMatchObject({ object: "model", owned_by: "core", created: expect.any(Number) });
  });

  it("core/circle answers with the consensus, its usage and the consultation that recorded it", async () => {
    stub.always({ text: PARIS });
    const completion = await client().chat.completions.create({
      model: "core/circle",
      messages: [
        { role: "system", content: "Answer in one sentence." },
        { role: "user", content: "What is the capital of France?" },
      ],
    });
    expect(completion).toMatchObject({ object: "chat.completion", model: "core/circle", choices: [{ index: 0, message: { role: "assistant", content: PARIS }, finish_reason: "stop" }] });
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens);
    const info = core(completion);
    expect(info).toMatchObject({ mode: "consult", agreement: 1, experts: [{ id: "claude", status: "answered" }, { id: "gpt", status: "answered" }] });
    const saved = await edge.broker.call<Consultation, { id: string }>("circle.get", { id: info.consultationId });
    expect(saved).toMatchObject({ principal: "openai-user", system: "Answer in one sentence.", question: "What is the capital of France?", status: "completed" });
    expect(completion.usage!.prompt_tokens).toBe(saved.usage.inputTokens);
    // Both experts were asked, each on its own protocol.
    expect(stub.requests.map((r) => r.protocol).sort()).toEqual(["anthropic", "openai"]);
  });

  it("core/<expert> streams the expert's answer across NATS; the deltas join to it; usage and cost are recorded for the caller", async () => {
    stub.always({ text: STREAMED, chunkDelayMs: 10 }, { protocol: "openai" });
    const stream = await client("streamer").chat.completions.create({
      model: "core/gpt",
      messages: [{ role: "user", content: "What is the capital of France?" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    let info: CoreCompletionInfo | undefined;
    let id: string | undefined;
    for await (const chunk of stream) {
      id ??= chunk.id;
      expect(chunk).toMatchObject({ object: "chat.completion.chunk", id, model: "core/gpt" });
      const choice = chunk.choices[0];
      if (choice?.delta.content) deltas.push(choice.delta.content);
      if (choice?.finish_reason) {
        finish = choice.finish_reason;
        info = core(chunk);
      }
      if (chunk.usage) usage = chunk.usage;
    }
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.join("")).toBe(STREAMED);
    expect(finish).toBe("stop");
    expect(usage!.completion_tokens).toBeGreaterThan(0);
    expect(info).toMatchObject({ mode: "pass-through", experts: [{ id: "gpt", status: "answered" }] });
    expect(id).toBe(`chatcmpl-${info!.consultationId}`);
    // The provider was asked to stream, once.
    expect(stub.requests).toEqual([expect.objectContaining({ protocol: "openai", stream: true })]);

    const summary = await edge.broker.call<CostSummary, unknown>("costs.summary", { groupBy: ["expert", "principal"], principal: "streamer" });
    expect(summary.rows).toEqual([expect.objectContaining({ expert: "gpt", principal: "streamer", calls: 1, inputTokens: usage!.prompt_tokens, outputTokens: usage!.completion_tokens })]);
    const expected = (usage!.prompt_tokens * PRICES.gpt.inputPerMTok + usage!.completion_tokens * PRICES.gpt.outputPerMTok) / 1e6;
    expect(Math.abs(summary.total.costUsd - expected)).toBeLessThan(1e-9);
    const saved = await edge.broker.call<Consultation, { id: string }>("circle.get", { id: info!.consultationId });
    expect(saved).toMatchObject({ principal: "streamer", experts: ["gpt"], status: "completed", params: { mode: "pass-through", stream: true } });
  });

  it("core/<expert> without streaming passes the conversation through as it is", async () => {
    stub.always({ text: "Rome.", omitUsage: false }, { protocol: "anthropic" });
    const completion = await client().chat.completions.create({
      model: "core/claude",
      messages: [
        { role: "user", content: "Capital of France?" },
        { role: "assistant", content: "Paris." },
        { role: "user", content: [{ type: "text", text: "And of Italy?" }] },
      ],
      max_completion_tokens: 50,
    });
    expect(completion.choices[0]!.message.content).toBe("Rome.");
    expect(core(completion)).toMatchObject({ mode: "pass-through", experts: [{ id: "claude", model: "claude-sonnet-4-5" }] });
    const sent = stub.requests[0]!.body as { messages: Array<{ role: string; content: unknown }>; max_tokens: number };
    expect(sent.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(sent.max_tokens).toBe(50);
  });

  it("core/circle with stream: true sends the consensus as one content chunk, then [DONE]", async () => {
    stub.always({ text: PARIS });
    const stream = await client().chat.completions.create({ model: "core/circle", messages: [{ role: "user", content: "Capital of France? (streamed)" }], stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe(PARIS);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe("stop");
    expect(chunks.filter((c) => c.choices[0]?.delta.content)).toHaveLength(1);
  });

  it("an unknown model is a NotFoundError (404) carrying CORE's code and the models there are", async () => {
    const err = await client().chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "Hi" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toMatchObject({ status: 404, code: "NOT_FOUND", type: "invalid_request_error" });
    expect((err as APIError).error).toMatchObject({ details: { models: ["core/circle", "core/claude", "core/gpt"] } });
  });

  it("a bad body is a 422 the client raises, naming the field", async () => {
    const err = await client()
      .chat.completions.create({ model: "core/circle", messages: [{ role: "user", content: "Hi" }], n: 2 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnprocessableEntityError);
    expect(err).toMatchObject({ status: 422, code: "VALIDATION_FAILED", param: "n" });
    const noUser = await client()
      .chat.completions.create({ model: "core/circle", messages: [{ role: "user", content: "Q" }, { role: "assistant", content: "A" }] })
      .catch((e: unknown) => e);
    expect(noUser).toMatchObject({ status: 422, param: "messages" });
  });

  it("a provider failure before the first byte is an HTTP error the client does not retry (x-should-retry: false)", async () => {
    stub.always({ status: 401 }, { protocol: "openai" });
    const err = await client("openai-user", 2)
      .chat.completions.create({ model: "core/gpt", messages: [{ role: "user", content: "Hi" }], stream: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect(err).toMatchObject({ status: 502, code: "PROVIDER_AUTH_FAILED", type: "server_error" });
    // One request: neither CORE nor the client retried a refused key.
    expect(stub.requests).toHaveLength(1);
  });

  it("a failure mid-stream ends the stream with an error event the client raises", async () => {
    stub.always({ text: STREAMED, streamError: { afterChunks: 2, status: 500 } }, { protocol: "openai" });
    const stream = await client().chat.completions.create({ model: "core/gpt", messages: [{ role: "user", content: "Hi" }], stream: true });
    const seen: string[] = [];
    const err = await (async () => {
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) seen.push(chunk.choices[0].delta.content);
    })().catch((e: unknown) => e);
    expect(seen).toHaveLength(2);
    expect(err).toBeInstanceOf(APIError);
    expect(err).toMatchObject({ code: "PROVIDER_UNAVAILABLE", type: "server_error" });
  });

  it("a viewer may list the models but not ask: PermissionDeniedError (403)", async () => {
    const viewer = client("viewer-1", 0, "viewer");
    expect((await viewer.models.list()).data).toHaveLength(3);
    const err = await viewer.chat.completions.create({ model: "core/gpt", messages: [{ role: "user", content: "Hi" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect(err).toMatchObject({ status: 403, code: "FORBIDDEN", type: "permission_error" });
    expect(stub.requests).toHaveLength(0);
  });

  it("a pass-through is held to the caller's budget, refused before the provider is called", async () => {
    const err = await client("frugal")
      .chat.completions.create({ model: "core/gpt", messages: [{ role: "user", content: "Hi" }], max_tokens: 100_000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect(err).toMatchObject({ status: 402, code: "BUDGET_EXCEEDED", type: "insufficient_quota" });
    expect(stub.requests).toHaveLength(0);
  });
});
