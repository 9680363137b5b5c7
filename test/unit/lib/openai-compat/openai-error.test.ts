import type { ServerResponse } from "node:http";
import {
  BudgetExceededError,
  InternalError,
  NotFoundError,
  QuorumNotReachedError,
  RateLimitedError,
  UnauthenticatedError,
  UnavailableError,
  ValidationError,
} from "../../../../lib/errors";
import { asCoreError, openAiErrorResponse, openAiErrorType, sendOpenAiError } from "../../../../lib/openai-compat/openai-error";

describe("errors in OpenAI's shape", () => {
  it("types by status, as OpenAI names them", () => {
    expect([400, 401, 402, 403, 404, 413, 422, 429, 500, 503].map(openAiErrorType)).toEqual([
      "invalid_request_error",
      "authentication_error",
      "insufficient_quota",
      "permission_error",
      "invalid_request_error",
      "invalid_request_error",
      "invalid_request_error",
      "rate_limit_error",
      "server_error",
      "server_error",
    ]);
  });

  it("a validation error names its first field as `param` and lists every issue in the message", () => {
    const err = new ValidationError("Invalid chat completion request", {
      issues: [
        { field: "messages[0].role", message: "one of system, developer, user, assistant" },
        { field: "n", message: "1" },
      ],
    });
    const r = openAiErrorResponse(err, "req-9");
    expect(r.status).toBe(422);
    expect(r.headers).toMatchObject({ "x-should-retry": "false", "X-Request-Id": "req-9" });
    expect(r.body.error).toMatchObject({
      type: "invalid_request_error",
      param: "messages[0].role",
      code: "VALIDATION_FAILED",
      requestId: "req-9",
      message: "Invalid chat completion request: messages[0].role: one of system, developer, user, assistant; n: 1",
      details: { issues: expect.any(Array) },
    });
  });

  it("keeps CORE's code and status; tells the client whether a retry can help, and when", () => {
    expect(openAiErrorResponse(new NotFoundError("no model")).body.error).toMatchObject({ code: "NOT_FOUND", type: "invalid_request_error", param: null });
    expect(openAiErrorResponse(new UnauthenticatedError("who?")).status).toBe(401);
    expect(openAiErrorResponse(new BudgetExceededError("spent")).headers["x-should-retry"]).toBe("false");
    expect(openAiErrorResponse(new QuorumNotReachedError("no quorum")).headers["x-should-retry"]).toBe("false");
    expect(openAiErrorResponse(new UnavailableError("restarting")).headers["x-should-retry"]).toBe("true");
    const limited = openAiErrorResponse(new RateLimitedError("slow down", { data: { retryAfterSec: 1.2 } }));
    expect(limited).toMatchObject({ status: 429, headers: { "Retry-After": "2" }, body: { error: { type: "rate_limit_error", code: "RATE_LIMITED" } } });
  });

  it("never passes on what an unexpected error says", () => {
    const core = asCoreError(new TypeError("secret internals"));
    expect(core).toBeInstanceOf(InternalError);
    expect(JSON.stringify(openAiErrorResponse(core).body)).not.toContain("secret");
    expect(asCoreError({ name: "X", code: "NOT_FOUND", status: 404, message: "m", retryable: false })).toBeInstanceOf(NotFoundError);
  });

  it("writes the answer, or ends a response that had begun", () => {
    const written: { status?: number; headers: Record<string, string>; body?: string; ended: boolean } = { headers: {}, ended: false };
    const res = {
      headersSent: false,
      setHeader: (n: string, v: string) => (written.headers[n] = v),
      writeHead: (s: number) => (written.status = s),
      end: (b?: string) => {
        written.body = b;
        written.ended = true;
      },
    } as unknown as ServerResponse;
    sendOpenAiError(res, new NotFoundError("no model"), "r1");
    expect(written.status).toBe(404);
    expect(JSON.parse(written.body!)).toMatchObject({ error: { code: "NOT_FOUND", requestId: "r1" } });
    const begun = { headersSent: true, end: jest.fn(), writeHead: jest.fn() } as unknown as ServerResponse;
    sendOpenAiError(begun, new NotFoundError("x"));
    expect(begun.end).toHaveBeenCalledWith();
    expect(begun.writeHead).not.toHaveBeenCalled();
  });
});
