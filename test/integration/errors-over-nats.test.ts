import type { ServiceBroker } from "moleculer";
import {
  ConfigError,
  CoreError,
  ForeignCoreError,
  NotFoundError,
  RateLimitedError,
  UnavailableError,
  ValidationError,
} from "../../lib/errors";
import { toCoreError } from "../../mixins/to-core-error";
import { startTestBroker } from "../helpers/broker";
import { uniqueName } from "../helpers/unique";

const namespace = uniqueName("errors");
let server: ServiceBroker;
let client: ServiceBroker;

const thrown: Record<string, () => Error> = {
  notFound: () => new NotFoundError("consultation 42 does not exist", { data: { id: 42 } }),
  rateLimited: () => new RateLimitedError("slow down", { data: { retryAfterSec: 3 } }),
  unavailableNotRetryable: () => new UnavailableError("provider gone", { retryable: false }),
  validation: () => new ValidationError("bad input", { issues: [{ field: "question", message: "must not be empty", received: "" }] }),
  config: () => new ConfigError("bad config", { issues: [{ field: "experts[0].id", message: "required" }] }),
  foreign: () => Object.assign(new Error("over budget"), { code: "QUOTA_FROM_THE_FUTURE", status: 402, retryable: false, data: { limitUsd: 5 } }),
  plain: () => new TypeError("undefined is not a function"),
};

beforeAll(async () => {
  server = await startTestBroker({
    namespace,
    nodeId: "server",
    services: [
      {
        name: "thrower",
        actions: {
          throw: {
            params: { kind: { type: "string" } },
            handler(ctx: { params: { kind: string } }) {
              throw thrown[ctx.params.kind]!();
            },
          },
        },
      },
    ],
  });
  client = await startTestBroker({ namespace, nodeId: "client" });
  await client.waitForServices("thrower", 10_000);
});

afterAll(async () => {
  await client?.stop();
  await server?.stop();
});

async function callAndCatch(kind: string): Promise<Error> {
  try {
    await client.call("thrower.throw", { kind }, { nodeID: "server" });
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the call to fail");
}

describe("typed errors across NATS", () => {
  it.each([
    ["notFound", NotFoundError, "NOT_FOUND", 404, false, { id: 42 }],
    ["rateLimited", RateLimitedError, "RATE_LIMITED", 429, true, { retryAfterSec: 3 }],
    ["unavailableNotRetryable", UnavailableError, "UNAVAILABLE", 503, false, {}],
  ])("%s arrives as its own class, rebuilt from its code", async (kind, cls, code, status, retryable, data) => {
    const err = await callAndCatch(kind);
    expect(err).toBeInstanceOf(cls);
    expect(err).toBeInstanceOf(CoreError);
    expect(err).toMatchObject({ code, status, retryable, data, nodeID: "server" });
  });

  it("validation and configuration issues keep their fields", async () => {
    const v = await callAndCatch("validation");
    expect(v).toBeInstanceOf(ValidationError);
    expect((v as ValidationError).issues).toEqual([{ field: "question", message: "must not be empty", received: "" }]);
    const c = await callAndCatch("config");
    expect(c).toBeInstanceOf(ConfigError);
    expect((c as ConfigError).issues[0]!.field).toBe("experts[0].id");
  });

  it("an error with a code this build does not know keeps all its fields", async () => {
    const err = await callAndCatch("foreign");
    expect(err).toBeInstanceOf(ForeignCoreError);
    expect(err).toMatchObject({ code: "QUOTA_FROM_THE_FUTURE", status: 402, retryable: false, data: { limitUsd: 5 } });
  });

  it("an unexpected error becomes INTERNAL at the edge, its detail kept out of the message", async () => {
    const err = toCoreError(await callAndCatch("plain"));
    expect(err).toMatchObject({ code: "INTERNAL", status: 500, message: "Internal error" });
  });

  it("bad parameters and unknown actions are typed errors with codes", async () => {
    const bad = await client.call("thrower.throw", { kind: 5 }).catch((e: unknown) => e);
    expect(toCoreError(bad)).toMatchObject({ code: "VALIDATION_FAILED", status: 422 });
    expect((toCoreError(bad) as ValidationError).issues[0]!.field).toBe("kind");
    const missing = await client.call("nobody.home", {}).catch((e: unknown) => e);
    expect(toCoreError(missing)).toMatchObject({ code: "ACTION_NOT_FOUND", status: 404 });
  });
});
