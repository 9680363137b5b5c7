import { silentLogger } from "../../../../lib/logger";
import { describeNatsUrl, waitForNats } from "../../../../lib/transport/wait-for-nats";
import { PrivateNats } from "../../../helpers/nats-server";

let nats: PrivateNats;

afterAll(async () => {
  await nats?.dispose();
});

describe("waitForNats", () => {
  it("waits, logging each retry, until a NATS server comes up", async () => {
    nats = await PrivateNats.reserve();
    const lines: string[] = [];
    const logger = { ...silentLogger, warn: (...a: unknown[]) => lines.push(a.join(" ")) };
    const waiting = waitForNats(nats.url, { logger, policy: { initialMs: 100, maxMs: 300, factor: 2 } });
    await new Promise((r) => setTimeout(r, 700));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatch(new RegExp(`^NATS at nats://127\\.0\\.0\\.1:${nats.port} is unreachable \\(.+\\); retrying in \\d+\\.\\d s \\(attempt 1\\)$`));
    await nats.start();
    await expect(waiting).resolves.toBeUndefined();
  });

  it("hides credentials in what it logs", () => {
    expect(describeNatsUrl("nats://user:secret@a:4222, nats://b:4222")).toBe("nats://***@a:4222,nats://b:4222");
  });
});
