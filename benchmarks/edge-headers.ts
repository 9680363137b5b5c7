import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { EdgeResponse, queueHeader, queueHeaders } from "../lib/http/edge-response";
import { API_SECURITY_HEADERS } from "../lib/http/security-headers";
import { median, newReport, saveReport } from "./report";

/**
 * What writing a CORE answer's head costs, in process: the header calls an
 * authenticated `/api/v1` answer makes (trace id, moleculer-web's request id
 * replaced by CORE's, six security headers, three RateLimit fields, the
 * content type, moleculer-web's two freshness reads) and the head's writing,
 * on Node's ServerResponse and on EdgeResponse (lib/http/edge-response.ts).
 * Both heads are checked to be the same bytes before timing.
 */

const ROUNDS = 7;
const PER_ROUND = 200_000;
const TRACE = "0cec46420a8573c450b874e9edfdab56";

function request(): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.method = "GET";
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  return req;
}

/** The calls of one answer, in the order the edge makes them. */
function answer(res: ServerResponse, remaining: number): string {
  queueHeader(res, "X-Trace-Id", TRACE);
  res.setHeader("X-Request-ID", TRACE);
  queueHeaders(res, API_SECURITY_HEADERS);
  queueHeader(res, "X-Request-Id", TRACE);
  queueHeaders(res, { "RateLimit-Limit": "1000000000", "RateLimit-Remaining": String(remaining), "RateLimit-Reset": "1" });
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.getHeader("ETag");
  res.getHeader("Last-Modified");
  res.writeHead(200);
  return (res as unknown as { _header: string })._header;
}

const VARIANTS: Record<string, (req: IncomingMessage) => ServerResponse> = {
  "Node's ServerResponse (setHeader each)": (req) => new ServerResponse(req),
  "EdgeResponse (one list to writeHead)": (req) => new EdgeResponse(req),
};

const withoutDate = (head: string) => head.replace(/^Date: .*\r\n/m, "");

export async function runEdgeHeadersBenchmark(): Promise<void> {
  const report = newReport(
    "edge-headers",
    `The head of an authenticated /api/v1 answer (12 header calls, 2 header reads, writeHead), on Node's ServerResponse and on CORE's EdgeResponse, in process: ${PER_ROUND} answers per round, ${ROUNDS} rounds in rotating order, medians.`,
  );
  const req = request();
  const heads = Object.values(VARIANTS).map((make) => withoutDate(answer(make(req), 1)));
  if (heads.some((h) => h !== heads[0])) throw new Error(`the heads differ:\n${heads.join("\n")}`);

  const names = Object.keys(VARIANTS);
  const times = new Map<string, number[]>(names.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length]!;
      const make = VARIANTS[name]!;
      let bytes = 0;
      const started = process.hrtime.bigint();
      for (let n = 0; n < PER_ROUND; n++) bytes += answer(make(req), n).length;
      times.get(name)!.push(Number(process.hrtime.bigint() - started) / PER_ROUND / 1000);
      if (bytes === 0) throw new Error("no head written");
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  const base = median(times.get(names[0]!)!);
  report.tables.push({
    title: "One answer's head",
    rows: names.map((name) => ({
      response: name,
      "µs per answer": median(times.get(name)!).toFixed(2),
      "vs Node's": `${((median(times.get(name)!) / base) * 100).toFixed(0)} %`,
      "µs by round": times
        .get(name)!
        .map((t) => t.toFixed(2))
        .join(" / "),
    })),
  });
  report.notes.push(
    `The same head in both (${heads[0]!.length} bytes without its Date line), checked before timing.`,
    "Each answer builds its response object as the server does; both include that cost.",
  );
  saveReport(report);
}
