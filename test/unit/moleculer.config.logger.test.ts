import { ServiceBroker } from "moleculer";
import { loadConfig } from "../../config";
import { RedactingConsoleLogger } from "../../mixins/redacting-logger";
import { createBrokerOptions } from "../../moleculer.config";

const API_KEY = "core_k1a2b3_Q2hhbmdlTWVQbGVhc2UxMjM0NTY3ODkw";
const PROVIDER_KEY = "sk-ant-api03-AbCdEf0123456789AbCdEf0123";

/** Everything the console logger writes while `fn` runs, as one string. */
function captureConsole(fn: () => void): string {
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
  return lines.join("\n");
}

describe("the node's logger (createBrokerOptions)", () => {
  it("is the redacting console logger", () => {
    expect(createBrokerOptions(loadConfig({})).logger).toBeInstanceOf(RedactingConsoleLogger);
  });

  it.each(["full", "short", "simple", "json"])("keeps secrets out of every line (%s format)", (format) => {
    const options = createBrokerOptions(loadConfig({ CORE_NODE_ID: "n1", CORE_LOG_FORMAT: format, CORE_LOG_LEVEL: "info" }));
    const input = { password: "x-pass-1", headers: { authorization: "Bearer abc.def.ghi", accept: "application/json" }, inputTokens: 12 };
    const output = captureConsole(() => {
      const broker = new ServiceBroker({ nodeID: "n1", logger: options.logger });
      const logger = broker.getLogger("test");
      logger.info("request", input);
      logger.warn(`key ${API_KEY} used from 10.0.0.1`);
      logger.error(new Error(`provider refused ${PROVIDER_KEY}`));
      logger.info("connecting to postgres://core:pg-secret-7@db:5432/core");
    });
    expect(output).toContain("request");
    expect(output).toContain("application/json");
    expect(output).toContain("core_k1a2b3_");
    expect(output).toContain("10.0.0.1");
    expect(output).toContain("[redacted]");
    for (const secret of ["x-pass-1", "abc.def.ghi", "Q2hhbmdlTWVQbGVhc2Ux", "AbCdEf0123456789", "pg-secret-7"]) expect(output).not.toContain(secret);
    expect(input.password).toBe("x-pass-1");
  });

  it("drops lines below the level before redacting them", () => {
    const options = createBrokerOptions(loadConfig({ CORE_LOG_LEVEL: "warn" }));
    const output = captureConsole(() => {
      const logger = new ServiceBroker({ nodeID: "n1", logger: options.logger }).getLogger("test");
      logger.info("quiet info");
      logger.warn("loud warn");
    });
    expect(output).toContain("loud warn");
    expect(output).not.toContain("quiet info");
  });
});
