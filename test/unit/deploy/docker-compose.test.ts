import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, posix } from "node:path";
import { parse } from "yaml";
import { loadConfig } from "../../../config";
import { envSchema } from "../../../config/env-schema";
import { packageInfo } from "../../../lib/package-info";
import { PROVIDER_CATALOG } from "../../../lib/providers/provider-catalog";
import { DEFAULT_SERVICES, PRODUCT_ACTORS, PRODUCT_SERVICES } from "../../../services";

/** docker-compose.yml read as Compose reads it, and checked against CORE's own configuration and the files it mounts. */

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
const readYaml = <T>(file: string): T => parse(readFileSync(file, "utf8"), { merge: true }) as T;
const compose = readYaml<{ services: Record<string, ComposeService>; volumes?: Record<string, unknown> }>(join(root, "docker-compose.yml"));
const services = compose.services;
const coreNodes = Object.entries(services).filter(([, s]) => s.image === "core:latest");

/**
 * Compose's variable interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?error}`, `${VAR?error}` and `$$`, with `shell` as the environment compose runs in.
 */
function interpolate(value: string, shell: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g, (whole, name: string | undefined, colon: string, op: string, arg: string) => {
    if (whole === "$$") return "$";
    const v = shell[name!];
    const missing = v === undefined || (colon === ":" && v === "");
    if (!missing) return v;
    if (op === "?") throw new Error(`${name}: ${arg}`);
    return op === "-" ? arg : "";
  });
}

const SHELL = { CORE_JWT_SECRET: "x".repeat(48) };
const envOf = (node: ComposeService, shell: Record<string, string> = SHELL): Record<string, string> =>
  Object.fromEntries(Object.entries(node.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), shell)]));

/** The `--services` list of a node's command (DEFAULT_SERVICES without one). */
function servicesOf(node: ComposeService): string[] {
  const args = node.command ?? [];
  const i = args.indexOf("--services");
  if (i < 0) return [...DEFAULT_SERVICES];
  return args[i + 1]!.split(",").map((s) => s.trim());
}

/** `[ip:]host:container[/proto]` → numbers. */
function portMapping(spec: string): { host: number; container: number } {
  const parts = spec.replace(/\/(tcp|udp)$/, "").split(":");
  return { host: Number(parts.at(-2)), container: Number(parts.at(-1)) };
}

/** Bind mounts (`./host:/container[:ro]`) of a service: host paths resolved in the repository. */
function bindMounts(service: ComposeService): Array<{ host: string; container: string }> {
  return (service.volumes ?? [])
    .map((v) => v.split(":"))
    .filter(([host]) => host!.startsWith("./") || host!.startsWith("/"))
    .map(([host, container]) => ({ host: join(root, host!), container: container! }));
}

/** The repository file a container path of `service` is, through its bind mounts; undefined when nothing mounted holds it. */
function hostPathOf(service: ComposeService, containerPath: string): string | undefined {
  const mount = bindMounts(service)
    .filter((m) => containerPath === m.container || containerPath.startsWith(`${m.container}/`))
    .sort((a, b) => b.container.length - a.container.length)[0];
  return mount && join(mount.host, posix.relative(mount.container, containerPath));
}

const runs = (node: ComposeService, service: string) => servicesOf(node).includes(service);
const apiNodes = coreNodes.filter(([, n]) => runs(n, "api"));
const workerNodes = coreNodes.filter(([, n]) => runs(n, "circle") && runs(n, "experts"));

describe("docker-compose.yml", () => {
  it("runs NATS with JetStream, Redis, PostgreSQL, Prometheus, Grafana, Jaeger, an API node and two worker nodes", () => {
    expect(services.nats?.command).toContain("-js");
    expect(services.redis?.image).toMatch(/^redis:/);
    expect(services.postgres?.image).toMatch(/^postgres:/);
    expect(services.prometheus?.image).toMatch(/^prom\/prometheus:/);
    expect(services.grafana?.image).toMatch(/^grafana\/grafana:/);
    expect(services.jaeger?.image).toMatch(/^jaegertracing\/all-in-one:/);
    expect(apiNodes.length).toBeGreaterThanOrEqual(1);
    expect(workerNodes.length).toBeGreaterThanOrEqual(2);
  });

  it("every service has a health check, and CORE nodes wait for healthy dependencies", () => {
    for (const [name, service] of Object.entries(services)) {
      expect({ name, healthcheck: Array.isArray(service.healthcheck?.test) }).toEqual({ name, healthcheck: true });
    }
    for (const [name, node] of coreNodes) {
      expect({ name, depends_on: node.depends_on }).toMatchObject({
        name,
        depends_on: { nats: { condition: "service_healthy" }, redis: { condition: "service_healthy" }, postgres: { condition: "service_healthy" } },
      });
      for (const dependency of Object.keys(node.depends_on ?? {})) expect(Object.keys(services)).toContain(dependency);
    }
  });

  it("gives CORE nodes only environment variables CORE knows, and refuses to start without CORE_JWT_SECRET", () => {
    const providerVars = Object.values(PROVIDER_CATALOG).flatMap((p) => [p.keyEnv, p.baseUrlEnv].filter((v): v is string => v !== undefined));
    const known = new Set([...Object.keys(envSchema.shape), ...providerVars]);
    for (const [name, node] of coreNodes) {
      const unknown = Object.keys(node.environment ?? {}).filter((v) => !known.has(v));
      expect({ name, unknown }).toEqual({ name, unknown: [] });
      expect(() => envOf(node, {})).toThrow(/CORE_JWT_SECRET/);
    }
  });

  it("starts every node with product services only, and runs every default service somewhere in the cluster", () => {
    const product = new Set([...Object.keys(PRODUCT_SERVICES), ...Object.keys(PRODUCT_ACTORS)]);
    const running = new Set<string>();
    for (const [name, node] of coreNodes) {
      expect(node.command?.[0]).toBe("start");
      const list = servicesOf(node);
      expect({ name, unknown: list.filter((s) => !product.has(s)) }).toEqual({ name, unknown: [] });
      list.forEach((s) => running.add(s));
    }
    expect(DEFAULT_SERVICES.filter((s) => !running.has(s))).toEqual([]);
  });

  it("CORE nodes form one cluster: same namespace, distinct node ids, a configuration CORE accepts", () => {
    const ids = new Set<string>();
    for (const [, node] of coreNodes) {
      const env = envOf(node);
      // The configuration file the node mounts, read from the repository.
      const configFile = hostPathOf(node, env.CORE_CONFIG!);
      expect(configFile && existsSync(configFile)).toBe(true);
      const config = loadConfig({ ...env, CORE_CONFIG: configFile! });
      expect(config.namespace).toBe("core");
      expect(config.nats?.url).toBe("nats://nats:4222");
      expect(config.redis?.url).toBe("redis://redis:6379");
      expect(config.database).toMatchObject({ kind: "postgres", url: expect.stringContaining("@postgres:5432/") });
      expect(config.experts.map((e) => e.id)).toContain("local");
      ids.add(config.nodeId);
    }
    expect(ids.size).toBe(coreNodes.length);
  });

  it("publishes the API and metrics ports the nodes listen on (CORE_API_PORT, CORE_METRICS_PORT), each on its own host port", () => {
    for (const [name, node] of coreNodes) {
      const config = loadConfig({ ...envOf(node), CORE_CONFIG: hostPathOf(node, envOf(node).CORE_CONFIG!)! });
      const listening = new Set([config.metrics.port, ...(runs(node, "api") ? [config.apiPort] : [])]);
      const published = (node.ports ?? []).map(portMapping);
      expect({ name, stray: published.filter((p) => !listening.has(p.container)) }).toEqual({ name, stray: [] });
      if (runs(node, "api")) expect(published.map((p) => p.container)).toContain(config.apiPort);
      // The health check asks the port the node listens on.
      expect(node.healthcheck!.test.join(" ")).toMatch(runs(node, "api") ? /CORE_API_PORT.*\/health\/ready/ : /CORE_METRICS_PORT.*\/metrics/);
    }
    const hostPorts = Object.values(services).flatMap((s) => (s.ports ?? []).map((p) => portMapping(p).host));
    expect(hostPorts.filter((p, i) => hostPorts.indexOf(p) !== i)).toEqual([]);
  });

  it("mounts only files and directories that exist in the repository, and declares its named volumes", () => {
    for (const [name, service] of Object.entries(services)) {
      for (const m of bindMounts(service)) expect({ name, mount: m.host, exists: existsSync(m.host) }).toEqual({ name, mount: m.host, exists: true });
      for (const v of service.volumes ?? []) {
        const source = v.split(":")[0]!;
        if (!source.startsWith(".") && !source.startsWith("/")) expect(Object.keys(compose.volumes ?? {})).toContain(source);
      }
    }
  });

  it("Prometheus scrapes every CORE node's metrics port by its compose service name, and loads rules that exist", () => {
    const prometheus = services.prometheus!;
    const configPath = prometheus.command!.find((a) => a.startsWith("--config.file="))!.split("=")[1]!;
    const configFile = hostPathOf(prometheus, configPath)!;
    const config = readYaml<{ rule_files?: string[]; scrape_configs: Array<{ job_name: string; metrics_path?: string; static_configs: Array<{ targets: string[] }> }> }>(configFile);
    const job = config.scrape_configs.find((j) => j.job_name === "core")!;
    expect(job.metrics_path ?? "/metrics").toBe("/metrics");
    const targets = job.static_configs.flatMap((s) => s.targets).sort();
    const expected = coreNodes.map(([name, node]) => `${name}:${envOf(node).CORE_METRICS_PORT}`).sort();
    expect(targets).toEqual(expected);
    expect(config.rule_files?.length).toBeGreaterThan(0);
    for (const rules of config.rule_files ?? []) {
      // Relative to the configuration file, inside the container as in the repository.
      const file = hostPathOf(prometheus, posix.resolve(posix.dirname(configPath), rules));
      expect({ rules, exists: file !== undefined && existsSync(file) }).toEqual({ rules, exists: true });
    }
  });

  it("Grafana's provisioning names Prometheus and Jaeger by service and port, and loads dashboards that exist", () => {
    const grafana = services.grafana!;
    const provisioning = hostPathOf(grafana, "/etc/grafana/provisioning")!;
    expect(existsSync(provisioning)).toBe(true);
    const yamls = (dir: string) => readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(dir, f));

    type Datasource = { name: string; uid: string; type: string; url: string };
    const datasources = yamls(join(provisioning, "datasources")).flatMap((f) => readYaml<{ datasources: Datasource[] }>(f).datasources);
    const urlOf = (type: string) => new URL(datasources.find((d) => d.type === type)!.url);
    expect(urlOf("prometheus").host).toBe("prometheus:9090");
    expect(urlOf("jaeger").host).toBe("jaeger:16686");
    expect(Object.keys(services)).toEqual(expect.arrayContaining(["prometheus", "jaeger"]));

    type Provider = { type: string; options: { path: string } };
    const providers = yamls(join(provisioning, "dashboards")).flatMap((f) => readYaml<{ providers: Provider[] }>(f).providers);
    expect(providers.length).toBeGreaterThan(0);
    const uids = new Set(datasources.map((d) => d.uid));
    for (const provider of providers) {
      const dir = hostPathOf(grafana, provider.options.path);
      expect({ path: provider.options.path, dir: dir !== undefined && existsSync(dir) && statSync(dir).isDirectory() }).toEqual({ path: provider.options.path, dir: true });
      const dashboards = readdirSync(dir!).filter((f) => f.endsWith(".json"));
      expect(dashboards.length).toBeGreaterThan(0);
      for (const file of dashboards) {
        // Every panel's and target's datasource is a provisioned one (by uid).
        const text = readFileSync(join(dir!, file), "utf8");
        const used = [...text.matchAll(/"uid":\s*"([^"]+)"/g)].map((m) => m[1]!).filter((u) => u !== (JSON.parse(text) as { uid: string }).uid);
        expect({ file, unknown: [...new Set(used)].filter((u) => !uids.has(u)) }).toEqual({ file, unknown: [] });
      }
    }
    const home = grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    if (home) expect(existsSync(hostPathOf(grafana, home) ?? "")).toBe(true);
  });

  it("CORE nodes send Zipkin spans to Jaeger's Zipkin collector", () => {
    const zipkinPort = (services.jaeger!.environment!.COLLECTOR_ZIPKIN_HOST_PORT ?? "").split(":").at(-1);
    expect(zipkinPort).toMatch(/^\d+$/);
    for (const [name, node] of coreNodes) {
      const env = envOf(node);
      expect({ name, exporter: env.CORE_TRACING }).toEqual({ name, exporter: "zipkin" });
      const url = new URL(env.CORE_TRACING_URL!);
      expect({ name, collector: `${url.hostname}:${url.port}` }).toEqual({ name, collector: `jaeger:${zipkinPort}` });
    }
  });

  it("the image builds the native consensus addon and ships it next to dist/", () => {
    const dockerfile = readFileSync(join(packageInfo().root, "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/rustup/);
    expect(dockerfile).toMatch(/RUN npm run build/);
    expect(dockerfile).toMatch(/COPY --from=build [^\n]*\/app\/native\/index\.js[^\n]*\/app\/native\/\*\.node \.\/native\//);
  });
});
