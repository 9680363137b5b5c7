import { existsSync } from "node:fs";
import type { AddressInfo, Server } from "node:net";
import { resolve } from "node:path";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { isActorDefinition, type ActorDefinition } from "./actors/actor-spec";
import type { Logger } from "./lib/logger";
import { loadConfig, type CoreConfig, type Env } from "./config";
import { ConfigError, describeError } from "./lib/errors";
import { AuditQueue } from "./lib/audit";
import { flushWrites } from "./lib/circle/consultation-writes";
import { MIGRATIONS, migrate, openStore, redactUrl, schemaVersion, type Store } from "./lib/store";
import { describeNatsUrl, waitForNats } from "./lib/transport/wait-for-nats";
import { createBrokerOptions } from "./moleculer.config";
import type { NodeRuntime } from "./mixins/node-runtime";
import { NO_EXPERTS_HINT } from "./lib/circle/no-experts-hint";
import { MemorySharedStore } from "./lib/coordination/memory-shared-store";
import { RedisSharedStore } from "./lib/coordination/redis-shared-store";
import type { SharedStore } from "./lib/coordination/shared-store";
import { DEFAULT_SERVICES, PRODUCT_ACTORS, PRODUCT_SERVICES } from "./services";
import type { ControlServer } from "./lib/control";
import { openControlSocket } from "./mixins/control-socket";

export interface StartNodeOptions {
  /** A ready configuration; otherwise it is loaded from `env`. */
  config?: CoreConfig;
  env?: Env;
  /** Product service names or paths to service files; default: the product's default set. */
  services?: readonly string[];
  /** What this process is, for PGlite's lock file and logs. */
  command?: string;
  /** Install SIGINT/SIGTERM handlers that drain and exit 0 (the `core` command does). */
  handleSignals?: boolean;
  /** Plain Moleculer services to run beside the product's (a command's own listeners). */
  schemas?: readonly ServiceSchema[];
  /** Called after the node stopped because its supervision root gave up; default: exit with code 3. */
  onFatal?: (reason: string) => void;
}

export interface CoreNode {
  readonly broker: ServiceBroker;
  readonly config: CoreConfig;
  readonly store: Store | undefined;
  /** Where this node listens, e.g. `{ api: "http://127.0.0.1:3000" }`. */
  readonly endpoints: Record<string, string>;
  /** Drains in-flight calls, stops services, closes the store. Idempotent. */
  stop(): Promise<void>;
}

type ServiceSpec = { kind: "product"; name: string } | { kind: "file"; path: string };

/** Exit code when the supervision root gives up (distinct from 1, failed, and 2, bad configuration). */
export const EXIT_SUPERVISION_GAVE_UP = 3;

/**
 * What a service file exports: an actor definition (supervised), a plain
 * Moleculer schema, or an array of either; `export default` or `module.exports`.
 */
function loadServiceFile(path: string): Array<ActorDefinition | ServiceSchema> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path) as { default?: unknown };
  const value = mod.default ?? mod;
  const items = Array.isArray(value) ? value : [value];
  for (const item of items) {
    if (!isActorDefinition(item) && !(typeof item === "object" && item !== null && typeof (item as ServiceSchema).name === "string")) {
      throw new ConfigError("Invalid --services", {
        issues: [{ field: "--services", received: path, message: "the file exports neither an actor (defineActor) nor a Moleculer service schema" }],
      });
    }
  }
  return items as Array<ActorDefinition | ServiceSchema>;
}

function resolveServices(names: readonly string[]): ServiceSpec[] {
  const issues = [];
  const specs: ServiceSpec[] = [];
  for (const raw of names) {
    const name = raw.trim();
    if (!name) continue;
    if (PRODUCT_SERVICES[name] || PRODUCT_ACTORS[name]) specs.push({ kind: "product", name });
    else if (/[/\\]|\.[cm]?[jt]s$/.test(name) && existsSync(resolve(name))) specs.push({ kind: "file", path: resolve(name) });
    else
      issues.push({
        field: "--services",
        received: name,
        message: `received ${JSON.stringify(name)}; expected one of ${[...Object.keys(PRODUCT_SERVICES), ...Object.keys(PRODUCT_ACTORS)].join(", ")} or the path of an existing service file`,
      });
  }
  if (issues.length) throw new ConfigError("Invalid --services", { issues });
  return specs;
}

function listenAddress(server: Server | undefined): string | undefined {
  const address = server?.address() as AddressInfo | null | undefined;
  if (!address) return undefined;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

function describeStart(node: CoreNode, version: number | undefined): string {
  const { config } = node;
  const transport = config.nats ? `NATS ${describeNatsUrl(config.nats.url)}` : "embedded (no transporter)";
  const cache = config.redis ? `Redis ${redactUrl(config.redis.url)} (prefix ${config.redis.prefix})` : "memory";
  const store = node.store ? `${node.store.describe()}${version === undefined ? "" : `, schema version ${version}`}` : "none on this node";
  const listens = Object.entries(node.endpoints).map(([name, url]) => `${name} ${url}`);
  return [
    `CORE node ${config.nodeId} started in namespace "${config.namespace}"`,
    `  listening: ${listens.length ? listens.join(", ") : "no HTTP endpoints"}`,
    `  transport: ${transport}; cache: ${cache}; store: ${store}`,
  ].join("\n");
}

function friendlyStartError(err: unknown, config: CoreConfig): string {
  const e = err as { code?: string; port?: number; address?: string; syscall?: string };
  if (e && e.code === "EADDRINUSE" && e.syscall === "listen") {
    const which = e.port === config.metrics.port ? "CORE_METRICS_PORT" : "CORE_API_PORT";
    return `Port ${e.port} on ${e.address} is already in use: stop what listens there or set ${which} to a free port [ADDRESS_IN_USE]`;
  }
  return describeError(err);
}

/**
 * Starts one CORE node: validated configuration, store (migrated), broker and
 * services. Resolves once the node is started (and, with a transporter, has
 * joined NATS, waiting for it as long as it takes).
 */
export async function startNode(options: StartNodeOptions = {}): Promise<CoreNode> {
  const config = options.config ?? loadConfig(options.env ?? process.env);
  const specs = resolveServices(options.services ?? DEFAULT_SERVICES);
  // Service files load before anything is opened, so a bad one fails fast and touches nothing.
  const actors: ActorDefinition[] = [];
  const schemas: ServiceSchema[] = [...(options.schemas ?? [])];
  for (const spec of specs) {
    if (spec.kind !== "file") continue;
    for (const item of loadServiceFile(spec.path)) {
      if (isActorDefinition(item)) actors.push(item);
      else schemas.push(item);
    }
  }

  let store: Store | undefined;
  let shared: SharedStore | undefined;
  let control: ControlServer | undefined;
  const brokerOptions = createBrokerOptions(config);
  // The store closes with the broker, however the broker is stopped (signal, REPL `quit`, node.stop()).
  brokerOptions.middlewares = [
    ...(brokerOptions.middlewares ?? []),
    {
      name: "StoreLifecycle",
      stopped: async () => {
        // The edges' audit rows still queued, and the consultation rows written after their answers, go in before the store closes.
        await Promise.all([AuditQueue.flush(store), flushWrites(store)]);
        await Promise.all([store?.close(), shared?.close()]);
      },
    },
    // First to stop (hooks run in reverse): admin commands in flight finish before the drain.
    { name: "ControlSocket", stopping: async () => control?.close() },
  ];
  const broker = new ServiceBroker(brokerOptions);
  const logger: Logger = broker.getLogger("core");
  const aborter = new AbortController();
  const command = options.command ?? "startNode";

  let version: number | undefined;
  let stopping: Promise<void> | undefined;
  const endpoints: Record<string, string> = {};

  const node: CoreNode = {
    broker,
    config,
    get store() {
      return store;
    },
    endpoints,
    stop() {
      stopping ??= (async () => {
        aborter.abort(new Error("node stopping"));
        await broker.stop();
      })();
      return stopping;
    },
  };

  if (options.handleSignals) installSignalHandlers(node, logger);
  // Moleculer and moleculer-web report some start failures (a taken port) through
  // broker.fatal, which logs a stack trace and exits: keep the exit, say it plainly.
  broker.fatal = (message: string, err?: Error, needExit = true) => {
    logger.error(err ? friendlyStartError(err, config) : message);
    if (needExit) process.exit(1);
  };
  const metrics = watchMetricsServer(broker);

  try {
    if (specs.length > 0) {
      store = await openStore(config.database, { logger, command, nodeId: config.nodeId, signal: aborter.signal });
      if (config.migrateOnStart) {
        const result = await migrate(store, MIGRATIONS, logger);
        version = result.to;
      } else {
        version = await schemaVersion(store);
      }
      AuditQueue.of(store, (err, rows) => logger.error(`${rows} audit row${rows === 1 ? "" : "s"} not written: ${err.message}`), config.auditFlushMs);
    }
    if (specs.length > 0) shared = config.redis ? new RedisSharedStore(config.redis.url, config.redis.prefix, logger) : new MemorySharedStore();
    // Product actors are made once the store is open (some keep their data there), before anything starts.
    const productActors = specs.flatMap((s) => (s.kind === "product" && PRODUCT_ACTORS[s.name] ? PRODUCT_ACTORS[s.name]!({ config, store, shared }) : []));
    actors.unshift(...productActors);
    const products = specs.flatMap((s) => (s.kind === "product" && PRODUCT_SERVICES[s.name] ? [s.name] : []));
    // Actors need a supervisor on their node.
    if (actors.length > 0 && !products.includes("supervisor")) products.push("supervisor");
    const runtime: NodeRuntime = {
      config,
      store,
      shared,
      actors,
      fatal: (reason) => {
        logger.error(`CORE node ${config.nodeId} is stopping: ${reason}`);
        void node.stop().finally(() => (options.onFatal ?? (() => process.exit(EXIT_SUPERVISION_GAVE_UP)))(reason));
      },
    };
    for (const name of products) broker.createService(PRODUCT_SERVICES[name]!(runtime));
    for (const schema of schemas) broker.createService(schema);
    if (config.nats) {
      logger.info(`Connecting to NATS at ${describeNatsUrl(config.nats.url)}`);
      await waitForNats(config.nats.url, { logger, signal: aborter.signal });
    }
    await broker.start();
    await metrics.listening;
    // This process holds the embedded data directory: admin commands come through it (DESIGN.md §10).
    const offersAdmin = specs.some((s) => s.kind === "product" && (s.name === "auth" || s.name === "audit"));
    if (offersAdmin && store?.kind === "pglite" && config.database.kind === "pglite") control = await openControlSocket(broker, config.database.dataDir, logger);
  } catch (err) {
    if (aborter.signal.aborted) throw err;
    await node.stop().catch(() => undefined);
    throw err;
  }

  const api = broker.getLocalService("api") as unknown as { server?: Server } | undefined;
  const apiUrl = listenAddress(api?.server);
  if (apiUrl) endpoints.api = apiUrl;
  const metricsUrl = listenAddress(metrics.server);
  if (metricsUrl) endpoints.metrics = `${metricsUrl}/metrics`;
  logger.info(describeStart(node, version));
  if (specs.some((s) => s.kind === "product" && s.name === "experts") && config.experts.length === 0) {
    logger.warn(`No experts are configured: consults will be refused. ${NO_EXPERTS_HINT}`);
  }
  return node;
}

/**
 * Moleculer's Prometheus reporter listens in the broker's constructor and has
 * no handler for a listen error (a taken port would crash the process), so the
 * node attaches one and turns it into a start failure with a clear message.
 */
function watchMetricsServer(broker: ServiceBroker): { server: Server | undefined; listening: Promise<void> } {
  const reporters = (broker.metrics as unknown as { reporter?: Array<{ server?: Server }> }).reporter ?? [];
  const server = reporters.find((r) => r.server)?.server;
  if (!server) return { server: undefined, listening: Promise.resolve() };
  const listening = new Promise<void>((resolve, reject) => {
    if (server.listening) return resolve();
    server.once("listening", () => resolve());
    server.once("error", reject);
  });
  listening.catch(() => undefined);
  return { server, listening };
}

/**
 * SIGINT/SIGTERM drain and exit 0; a second signal forces exit 130. A repeat
 * within a second is the same request: `npm start` forwards the Ctrl-C that the
 * terminal also sends to the whole process group, so one keypress arrives twice.
 */
function installSignalHandlers(node: CoreNode, logger: Logger): void {
  let receivedAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (receivedAt !== undefined) {
      if (Date.now() - receivedAt < 1_000) return;
      logger.warn(`Received ${signal} again: exiting without draining`);
      process.exit(130);
    }
    receivedAt = Date.now();
    logger.info(`Received ${signal}: draining in-flight calls (up to ${node.config.shutdownTimeoutMs} ms), then stopping`);
    node.stop().then(
      () => {
        logger.info("CORE node stopped");
        process.exit(0);
      },
      (err: unknown) => {
        logger.error(`Stopping failed: ${friendlyStartError(err, node.config)}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

export { friendlyStartError };
