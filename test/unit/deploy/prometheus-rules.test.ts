import { spawnSync } from "node:child_process";
import { join } from "node:path";

/**
 * The alert rules checked and unit-tested by Prometheus' own promtool
 * (deploy/prometheus/alerts.test.yml). promtool is not an npm package: where
 * it is not installed (Debian: `apt-get install prometheus`) these are skipped.
 */

const root = join(__dirname, "../../..");
const promtool = spawnSync("promtool", ["--version"]).status === 0;
const run = (...args: string[]) => spawnSync("promtool", args, { cwd: root, encoding: "utf8" });

(promtool ? describe : describe.skip)("deploy/prometheus with promtool", () => {
  it("prometheus.yml and the rules it loads are valid", () => {
    const r = run("check", "config", "deploy/prometheus/prometheus.yml");
    expect({ status: r.status, output: r.stdout + r.stderr }).toMatchObject({ status: 0 });
  });

  it("the alerts fire, and stay quiet, as alerts.test.yml expects", () => {
    const r = run("test", "rules", "deploy/prometheus/alerts.test.yml");
    expect({ status: r.status, output: r.stdout + r.stderr }).toMatchObject({ status: 0 });
  });
});
