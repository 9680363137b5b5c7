import type { IncomingMessage, ServerResponse } from "node:http";
import type { CallingOptions, ServiceBroker } from "moleculer";
import { newTraceId } from "../../../lib/tracing/trace-id";
import { startTraceAtEdge, TRACE_ID_HEADER } from "../../../mixins/tracing-edge";

describe("startTraceAtEdge (moleculer-web's rootCallOptions)", () => {
  it("starts a trace of CORE's own for the request, whatever id the client sent, and names it in X-Trace-Id", () => {
    const headers: Record<string, string> = {};
    const res = { setHeader: (name: string, value: string) => void (headers[name] = value) } as unknown as ServerResponse;
    const req = { headers: { "x-request-id": "client-7" } } as unknown as IncomingMessage;
    // moleculer-web puts the client's X-Request-Id here before calling the hook.
    const options: CallingOptions = { requestID: "client-7" };
    startTraceAtEdge.call({ broker: { generateUid: newTraceId } as unknown as ServiceBroker }, options, req, res);
    expect(options.requestID).toMatch(/^[0-9a-f]{32}$/);
    expect(headers).toEqual({ [TRACE_ID_HEADER]: options.requestID });
  });
});
