import { loadConfig } from "../../../../config";
import { configError } from "../../../helpers/config-error";

describe("alert and monitor settings", () => {
  it("default: no webhook, health every 10 s, budgets every 30 s", () => {
    const config = loadConfig({});
    expect(config.alerts).toEqual({ webhook: undefined });
    expect(config.healthMonitor).toEqual({ intervalMs: 10_000 });
    expect(config.costMonitor).toEqual({ intervalMs: 30_000 });
  });

  it("reads the webhook, its secret and the intervals", () => {
    const config = loadConfig({
      CORE_ALERT_WEBHOOK_URL: "https://alerts.example.com/core",
      CORE_ALERT_WEBHOOK_SECRET: "0123456789abcdef",
      CORE_HEALTH_CHECK_MS: "2500",
      CORE_COST_CHECK_MS: "60000",
    });
    expect(config.alerts).toEqual({ webhook: { url: "https://alerts.example.com/core", secret: "0123456789abcdef" } });
    expect(config.healthMonitor.intervalMs).toBe(2_500);
    expect(config.costMonitor.intervalMs).toBe(60_000);
  });

  it("refuses a bad URL, a short secret and bad intervals, never echoing the URL or the secret", () => {
    const err = configError({
      CORE_ALERT_WEBHOOK_URL: "ftp://x?token=hush",
      CORE_ALERT_WEBHOOK_SECRET: "short-hush",
      CORE_HEALTH_CHECK_MS: "0",
      CORE_COST_CHECK_MS: "soon",
    });
    expect(err.issues.map((i) => i.field).sort()).toEqual(["CORE_ALERT_WEBHOOK_SECRET", "CORE_ALERT_WEBHOOK_URL", "CORE_COST_CHECK_MS", "CORE_HEALTH_CHECK_MS"]);
    const text = JSON.stringify(err.issues);
    expect(text).not.toMatch(/hush/);
    expect(err.issues.find((i) => i.field === "CORE_ALERT_WEBHOOK_SECRET")!.message).toMatch(/expected at least 16 characters/);
    expect(err.issues.find((i) => i.field === "CORE_HEALTH_CHECK_MS")!.message).toMatch(/expected a positive integer \(milliseconds between two health checks/);
  });
});
