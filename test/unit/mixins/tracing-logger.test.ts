import { ServiceBroker } from "moleculer";
import { loadConfig } from "../../../config";
import { runInTrace } from "../../../mixins/trace-context";
import { createBrokerOptions } from "../../../moleculer.config";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

/** Everything the console logger writes while `fn` runs, one entry a line. */
function captureConsole(fn: () => void): string[] {
  const lines: string[] = [];
  const spies = (["log", "info", "warn", "error"] as const).map((m) =>
    jest.spyOn(console, m).mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(" "));
    }),
  );
  try {
    fn();
  } finally {
    for (const s of spies) s.mockRestore();
  }
  return lines;
}

function loggerFor(format: string) {
  const options = createBrokerOptions(loadConfig({ CORE_NODE_ID: "n1", CORE_LOG_FORMAT: format, CORE_LOG_LEVEL: "info" }));
  let broker: ServiceBroker | undefined;
  captureConsole(() => (broker = new ServiceBroker({ nodeID: "n1", logger: options.logger }))); // its start-up lines
  return broker!.getLogger("circle");
}

describe("log lines written while a call is handled carry its trace id", () => {
  it.each(["full", "short", "simple"])("%s: `trace=<id>` before the message, secrets still redacted; none outside a call", (format) => {
    const logger = loggerFor(format);
    const [inside, outside] = captureConsole(() => {
      runInTrace(TRACE, () => logger.info("Consultation stored", { password: "hunter2-secret" }));
      logger.info("Node started");
    });
    expect(inside).toMatch(new RegExp(`trace=${TRACE} Consultation stored`));
    expect(inside).not.toContain("hunter2-secret");
    expect(outside).toContain("Node started");
    expect(outside).not.toContain("trace=");
  });

  it("json: a traceId field (the message unchanged); no field outside a call", () => {
    const logger = loggerFor("json");
    const lines = captureConsole(() => {
      runInTrace(TRACE, () => logger.warn("Consultation stored"));
      logger.info("Node started");
    });
    const [inside, outside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(inside).toMatchObject({ level: "warn", msg: "Consultation stored", nodeID: "n1", mod: "circle", traceId: TRACE });
    expect(outside).toMatchObject({ msg: "Node started" });
    expect(outside).not.toHaveProperty("traceId");
  });

  it("lines below the level are still dropped", () => {
    const logger = loggerFor("short");
    expect(captureConsole(() => runInTrace(TRACE, () => logger.debug("quiet")))).toEqual([]);
  });
});
