import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { loadConfig } from "../../../config";
import { packageInfo } from "../../../lib/package-info";

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: string[];
  volumes?: string[];
}

const root = join(__dirname, "../../..");
const compose = parse(readFileSync(join(root, "docker-compose.yml"), "utf8"), { merge: true }) as { services: Record<string, ComposeService> };
const services = compose.services;
const coreNodes = Object.entries(services).filter(([, s]) => s.image === "core:latest");

describe("docker-compose.yml", () => {
  it("runs NATS with JetStream, Redis, PostgreSQL and at least two CORE nodes", () => {
    expect(services.nats?.command).toContain("-js");
    expect(services.redis?.image).toMatch(/^redis:/);
    expect(services.postgres?.image).toMatch(/^postgres:/);
    expect(coreNodes.length).toBeGreaterThanOrEqual(2);
  });

  it("every service has a health check, and CORE nodes wait for healthy dependencies", () => {
    for (const [name, service] of Object.entries(services)) {
      expect({ name, healthcheck: Array.isArray(service.healthcheck?.test) }).toEqual({ name, healthcheck: true });
    }
    for (const [, node] of coreNodes) {
      expect(node.depends_on).toEqual({
        nats: { condition: "service_healthy" },
        redis: { condition: "service_healthy" },
        postgres: { condition: "service_healthy" },
      });
    }
  });

  it("CORE nodes form one cluster: same namespace, distinct node ids, a configuration CORE accepts", () => {
    const ids = new Set<string>();
    for (const [, node] of coreNodes) {
      // The configuration file the node mounts, read from the repository.
      const mounted = node.volumes?.map((v) => v.split(":")).find(([, inside]) => inside === node.environment!.CORE_CONFIG);
      expect(mounted).toBeDefined();
      const env = { ...node.environment!, CORE_CONFIG: join(root, mounted![0]!), CORE_JWT_SECRET: "x".repeat(48), ANTHROPIC_API_KEY: "" };
      const config = loadConfig(env);
      expect(config.namespace).toBe("core");
      expect(config.nats?.url).toBe("nats://nats:4222");
      expect(config.redis?.url).toBe("redis://redis:6379");
      expect(config.database).toMatchObject({ kind: "postgres", url: expect.stringContaining("@postgres:5432/") });
      expect(config.experts.map((e) => e.id)).toContain("local");
      ids.add(config.nodeId);
    }
    expect(ids.size).toBe(coreNodes.length);
  });

  it("publishes each node's API on its own host port", () => {
    const hostPorts = coreNodes.map(([, n]) => n.ports!.find((p) => p.endsWith(":3000"))!.split(":")[0]);
    expect(new Set(hostPorts).size).toBe(coreNodes.length);
  });

  it("the image builds the native consensus addon and ships it next to dist/", () => {
    const dockerfile = readFileSync(join(packageInfo().root, "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/rustup/);
    expect(dockerfile).toMatch(/RUN npm run build/);
    expect(dockerfile).toMatch(/COPY --from=build [^\n]*\/app\/native\/index\.js[^\n]*\/app\/native\/\*\.node \.\/native\//);
  });
});
