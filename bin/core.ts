#!/usr/bin/env node
import { randomBytes } from "node:crypto";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { loadConfig, type CoreConfig } from "../config";
import { ConfigError, describeError } from "../lib/errors";
import { packageInfo } from "../lib/package-info";
import { MIGRATIONS, migrate, openStore } from "../lib/store";
import { friendlyStartError, startNode } from "../node";
import { durationArgument, runAuditVerify, runKeysCreate, runKeysList, runKeysRevoke, runUsersCreate, type KeysCreateOptions } from "./admin-commands";
import { runConsultCommand } from "./consult-command";
import { mcpCommandEnv, MCP_TOKEN_ENV, runMcpCommand, sendConsoleToStderr } from "./mcp-command";
import { REPL_COMMANDS } from "./repl-commands";
import type { BrokerOptions } from "moleculer";

/** Exit codes: 0 done, 1 failed, 2 invalid configuration or usage. */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const MIGRATE_CONNECT_TIMEOUT_MS = 30_000;

const consoleLogger = {
  error: (...args: unknown[]) => console.error(...args),
  warn: (...args: unknown[]) => console.error(...args),
  info: (...args: unknown[]) => console.error(...args),
  debug: () => undefined,
};

function fail(err: unknown, config?: CoreConfig): never {
  const text = config ? friendlyStartError(err, config) : describeError(err);
  console.error(`core: ${text}`);
  process.exit(err instanceof ConfigError ? EXIT_USAGE : EXIT_FAILED);
}

function configFrom(overrides: Record<string, string | undefined> = {}): CoreConfig {
  try {
    return loadConfig({ ...process.env, ...overrides });
  } catch (err) {
    fail(err);
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`received ${JSON.stringify(value)}; expected a positive integer`);
  return n;
}

function splitList(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter(Boolean);
}

const nodeIdOption = () => new Option("--node-id <id>", "node id (default: CORE_NODE_ID or <hostname>-<pid>)");
const servicesOption = (what: string) => new Option("--services <list>", what).argParser(splitList);

const program = new Command()
  .name("core")
  .description("CORE: an actor runtime for consulting a circle of AI experts and operating MCP tools")
  .version(packageInfo().version)
  .showHelpAfterError("(run core --help for usage)")
  .exitOverride();

program
  .command("start")
  .description("start a node: embedded by default; set NATS_URL, REDIS_URL, DATABASE_URL to join a cluster")
  .addOption(nodeIdOption())
  .addOption(servicesOption("comma-separated service names or service file paths"))
  .action(async (opts: { nodeId?: string; services?: string[] }) => {
    const config = configFrom({ CORE_NODE_ID: opts.nodeId ?? process.env.CORE_NODE_ID });
    try {
      await startNode({ config, services: opts.services, command: "core start", handleSignals: true });
    } catch (err) {
      fail(err, config);
    }
  });

program
  .command("repl")
  .description("join the cluster as a node with an interactive Moleculer REPL (embedded: runs the default services)")
  .addOption(nodeIdOption())
  .addOption(servicesOption("services to run on the REPL node"))
  .action(async (opts: { nodeId?: string; services?: string[] }) => {
    const config = configFrom({ CORE_NODE_ID: opts.nodeId ?? process.env.CORE_NODE_ID });
    // In a cluster the REPL node is a pure client; embedded, it is the whole system.
    const services = opts.services ?? (config.nats ? [] : undefined);
    try {
      const node = await startNode({ config, services, command: "core repl", handleSignals: true });
      // Moleculer's typings of custom commands lag moleculer-repl's (which passes parsed args and helpers).
      node.broker.options.replOptions = { customCommands: REPL_COMMANDS } as unknown as BrokerOptions["replOptions"];
      await node.broker.repl();
    } catch (err) {
      fail(err, config);
    }
  });

program
  .command("consult")
  .description("ask the circle of experts a question and print their consensus (embedded, or through the cluster when NATS_URL is set)")
  .argument("<question>", "the question, in quotes")
  .option("--experts <list>", "comma-separated expert ids (default: every configured expert)", splitList)
  .option("--json", "print the whole consultation as JSON")
  .option("--timeout <ms>", "the consult's deadline in ms (default 60000)", positiveInt)
  .option("--min-responses <n>", "answers needed (default: a majority of the experts asked)", positiveInt)
  .action(async (question: string, opts: { experts?: string[]; json?: boolean; timeout?: number; minResponses?: number }) => {
    // Quiet by default (stdout is the answer) and no metrics listener beside a running node.
    const config = configFrom({
      CORE_NODE_ID: process.env.CORE_NODE_ID ?? `consult-${process.pid}`,
      CORE_LOG_LEVEL: process.env.CORE_LOG_LEVEL ?? "error",
      CORE_METRICS: "false",
    });
    process.exit(await runConsultCommand(config, question, opts));
  });

program
  .command("mcp")
  .description(
    `serve CORE's MCP gateway on stdin/stdout (every MCP server's tools as <server>__<tool>, plus core__consult, core__experts, core__health); through the cluster when NATS_URL is set, else embedded; ${MCP_TOKEN_ENV}=<API key or access token> acts as that principal, unset as the local operator`,
  )
  .action(async () => {
    // stdout is the MCP channel from here on.
    sendConsoleToStderr();
    process.exit(await runMcpCommand(configFrom(mcpCommandEnv(process.env))));
  });

program
  .command("migrate")
  .description("bring the database schema (PostgreSQL or embedded PGlite) to the latest version")
  .action(async () => {
    const config = configFrom();
    try {
      // A one-shot command waits for PostgreSQL a while (logging each retry), not forever.
      const signal = AbortSignal.timeout(MIGRATE_CONNECT_TIMEOUT_MS);
      const store = await openStore(config.database, { logger: consoleLogger, command: "core migrate", nodeId: config.nodeId, signal });
      try {
        const result = await migrate(store, MIGRATIONS, consoleLogger);
        const what = result.applied.length
          ? `applied ${result.applied.map((m) => `${m.version} (${m.name})`).join(", ")}`
          : "nothing to apply";
        console.log(`${store.describe()}: schema version ${result.from} -> ${result.to}; ${what}`);
      } finally {
        await store.close();
      }
    } catch (err) {
      fail(err);
    }
  });

/** The admin commands: quiet (stdout is the answer), no metrics listener, a node id of their own (never a running node's). */
function adminConfig(): CoreConfig {
  return configFrom({
    CORE_NODE_ID: `admin-${process.pid}-${randomBytes(3).toString("hex")}`,
    CORE_LOG_LEVEL: process.env.CORE_LOG_LEVEL ?? "error",
    CORE_METRICS: "false",
  });
}

const roleHelp = "a configured role (by default viewer, operator or admin)";

program
  .command("users")
  .description("users, who log in with a password: create (through the cluster, the running embedded node, or in process)")
  .command("create")
  .description("create a user; the password is asked twice at a terminal, or read as the first line of stdin (never an argument)")
  .requiredOption("--email <email>", "the address the user logs in with")
  .requiredOption("--role <role>", roleHelp)
  .action(async (opts: { email: string; role: string }) => process.exit(await runUsersCreate(adminConfig(), opts)));

const keys = program.command("keys").description("API keys for programs (sent as X-Api-Key): create (shown once), list, revoke");
keys
  .command("create")
  .description("create an API key and print it once")
  .requiredOption("--name <name>", "who or what uses the key")
  .requiredOption("--role <role>", roleHelp)
  .option("--scopes <list>", "comma-separated permissions the key is narrowed to within its role, e.g. consult:run,experts:read", splitList)
  .option("--expires <duration>", "lifetime such as 30m, 12h, 90d or 1w (default: never)", durationArgument)
  .option("--json", "print the key and its record as JSON")
  .action(async (opts: KeysCreateOptions) => process.exit(await runKeysCreate(adminConfig(), opts)));
keys
  .command("list")
  .description("list the API keys (never the keys themselves), revoked ones too")
  .option("--json", "print the list as JSON")
  .action(async (opts: { json?: boolean }) => process.exit(await runKeysList(adminConfig(), opts)));
keys
  .command("revoke")
  .description("revoke an API key: refused from then on, on every node")
  .argument("<id>", "the key's id (core keys list shows it)")
  .action(async (id: string) => process.exit(await runKeysRevoke(adminConfig(), id)));

program
  .command("audit")
  .description("the hash-chained audit log: verify")
  .command("verify")
  .description("check every link of the audit log's hash chain; exit 1 naming the first broken row")
  .action(async () => process.exit(await runAuditVerify(adminConfig())));

async function main(argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors with 2.
      process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    }
    fail(err);
  }
}

void main(process.argv);
