import { existsSync } from "node:fs";
import { join } from "node:path";
import Table from "cli-table3";
import { InvalidArgumentError } from "commander";
import type { CoreConfig } from "../config";
import type { AuditVerification } from "../lib/audit/verify-audit-log";
import { ControlClient, controlSocketPath, socketPathProblem } from "../lib/control";
import { ConfigError, describeError, StoreLockedError, UnavailableError, type CoreError } from "../lib/errors";
import { silentLogger } from "../lib/logger";
import { parseDuration } from "../lib/security/duration";
import type { ApiKeyInfo, CreatedApiKey, User } from "../lib/security/identity-store";
import { LOCK_FILE, type LockOwner } from "../lib/store/data-dir-lock";
import { describeNatsUrl, waitForNats } from "../lib/transport/wait-for-nats";
import { toCoreError } from "../mixins/to-core-error";
import { startNode, type CoreNode } from "../node";
import { PasswordInputError, PasswordPromptCancelled, readNewPassword } from "./read-password";

/** Exit codes, as bin/core.ts has them: 0 done, 1 failed, 2 usage; 130 cancelled at a prompt. */
const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_CANCELLED = 130;

/** How long a cluster client waits for NATS, then for some node to run the service it needs. */
const CLUSTER_WAIT_MS = 10_000;
/** How long a command waits for the process holding the data directory to open its control socket or let go. */
const LOCK_WAIT_MS = 10_000;
const LOCK_POLL_MS = 250;

type AdminService = "auth" | "audit";
/** The services an embedded admin command runs in its own process when no node holds the data directory. */
const IN_PROCESS_SERVICES: readonly AdminService[] = ["auth", "audit"];
/** Marks the audit rows these commands cause. */
const CLI_META = { source: "cli" };

/** How an admin command reaches the auth and audit services. */
interface AdminChannel {
  call<T>(action: string, params?: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

/** `--expires`: a duration such as 30m, 12h, 90d or 1w (checked here, so a typo is a usage error before anything starts). */
export function durationArgument(value: string): string {
  try {
    parseDuration(value);
    return value.trim();
  } catch {
    throw new InvalidArgumentError(`received ${JSON.stringify(value)}; expected a duration such as 30m, 12h, 90d or 1w`);
  }
}

function nodeChannel(node: CoreNode): AdminChannel {
  return {
    call: <T>(action: string, params: Record<string, unknown> = {}) => node.broker.call<T, Record<string, unknown>>(action, params, { meta: CLI_META }),
    close: () => node.stop(),
  };
}

function socketChannel(client: ControlClient): AdminChannel {
  return {
    call: <T>(action: string, params: Record<string, unknown> = {}) => client.call<T>(action, params),
    close: async () => client.close(),
  };
}

/** A client node with no services of its own, once NATS answers and some node runs `service`. */
async function clusterChannel(config: CoreConfig, service: AdminService, command: string): Promise<AdminChannel> {
  const url = config.nats!.url;
  try {
    await waitForNats(url, { logger: silentLogger, signal: AbortSignal.timeout(CLUSTER_WAIT_MS) });
  } catch {
    throw new UnavailableError(`NATS at ${describeNatsUrl(url)} did not answer within ${CLUSTER_WAIT_MS / 1000} s: is NATS_URL right, and is the server up?`);
  }
  const node = await startNode({ config, services: [], command });
  try {
    await node.broker.waitForServices([service], CLUSTER_WAIT_MS);
  } catch {
    await node.stop().catch(() => undefined);
    throw new UnavailableError(`No node of the cluster runs the ${service} service (waited ${CLUSTER_WAIT_MS / 1000} s): start one with \`core start\`.`);
  }
  return nodeChannel(node);
}

/**
 * Embedded: through the node that holds the data directory (its control
 * socket), else by running the services in this process. PGlite admits one
 * process per directory, so this never opens a directory another process holds.
 */
async function embeddedChannel(config: CoreConfig, dataDir: string, command: string): Promise<AdminChannel> {
  const path = controlSocketPath(dataDir);
  const pathProblem = socketPathProblem(path);
  const deadline = Date.now() + LOCK_WAIT_MS;
  let locked: StoreLockedError | undefined;
  for (;;) {
    const client = pathProblem ? undefined : await ControlClient.tryConnect(path);
    if (client) return socketChannel(client);
    // Nobody listens: run the services here, unless a process that offers no socket (yet) holds the directory.
    if (!locked || !existsSync(join(dataDir, LOCK_FILE))) {
      try {
        return nodeChannel(await startNode({ config, services: IN_PROCESS_SERVICES, command }));
      } catch (err) {
        if (!(err instanceof StoreLockedError)) throw err;
        locked = err;
      }
    }
    // Perhaps a node still starting (its socket opens once its services run), or another command about to finish.
    if (Date.now() >= deadline) throw lockedWithoutSocket(locked, dataDir, path, pathProblem);
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
}

function lockedWithoutSocket(locked: StoreLockedError, dataDir: string, path: string, pathProblem: string | undefined): StoreLockedError {
  if (pathProblem) return new StoreLockedError(`${locked.message}\n${pathProblem}`, { data: locked.data });
  const holder = locked.data.holder as LockOwner | undefined;
  const who = holder ? `process ${holder.pid} (${holder.command}${holder.nodeId ? `, node ${holder.nodeId}` : ""})` : "another process";
  return new StoreLockedError(
    `The embedded database in ${dataDir} is in use by ${who}, which offers admin commands no control socket ` +
      `(waited ${LOCK_WAIT_MS / 1000} s for ${path}; a node running the auth and audit services, as \`core start\` does, opens one). ` +
      `Run the command again once that process ends, or stop it; or set DATABASE_URL to use PostgreSQL. If that process is gone, delete ${join(dataDir, LOCK_FILE)}.`,
    { data: locked.data },
  );
}

async function openChannel(config: CoreConfig, service: AdminService, command: string): Promise<AdminChannel> {
  if (config.nats) return clusterChannel(config, service, command);
  if (config.database.kind === "pglite") return embeddedChannel(config, config.database.dataDir, command);
  // PostgreSQL admits any number of processes.
  return nodeChannel(await startNode({ config, services: IN_PROCESS_SERVICES, command }));
}

/** Opens the way to CORE, runs `work`, closes; any failure is printed as `core <command>: …` and becomes the exit code. */
async function run(config: CoreConfig, service: AdminService, command: string, work: (channel: AdminChannel) => Promise<number>): Promise<number> {
  let channel: AdminChannel | undefined;
  try {
    channel = await openChannel(config, service, command);
    return await work(channel);
  } catch (err) {
    return report(command, err);
  } finally {
    await channel?.close().catch(() => undefined);
  }
}

function report(command: string, err: unknown): number {
  if (err instanceof PasswordPromptCancelled) return EXIT_CANCELLED;
  if (err instanceof PasswordInputError) {
    console.error(`${command}: ${err.message}`);
    return EXIT_USAGE;
  }
  const coreError: CoreError = toCoreError(err);
  console.error(`${command}: ${describeError(coreError)}`);
  return coreError instanceof ConfigError ? EXIT_USAGE : EXIT_FAILED;
}

const dateTime = (iso: string | undefined): string => (iso ? `${iso.slice(0, 16).replace("T", " ")}Z` : "");

function keyStatus(key: ApiKeyInfo, now: number): string {
  if (key.revokedAt) return `revoked ${dateTime(key.revokedAt)}`;
  if (key.expiresAt && Date.parse(key.expiresAt) <= now) return "expired";
  return "active";
}

/** The `core keys list` table: one key per row, never the key itself. */
export function renderKeyTable(keys: readonly ApiKeyInfo[], now = Date.now()): string {
  if (keys.length === 0) return "No API keys yet: create one with core keys create --name NAME --role ROLE.";
  const table = new Table({
    head: ["id", "name", "role", "scopes", "created", "expires", "last used", "status"],
    style: { head: [], border: [] },
    chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" },
    wordWrap: false,
  });
  for (const k of keys) {
    table.push([k.id, k.name, k.role, k.scopes.join(",") || "-", dateTime(k.createdAt), k.expiresAt ? dateTime(k.expiresAt) : "never", dateTime(k.lastUsedAt) || "never", keyStatus(k, now)]);
  }
  return table.toString();
}

/** What `core keys create` prints: the key once, on a line of its own, and that it will not be shown again. */
export function renderCreatedKey(key: CreatedApiKey): string {
  const scopes = key.scopes.length ? `, scopes ${key.scopes.join(",")}` : "";
  return [
    `Created API key ${key.id} "${key.name}" (role ${key.role}${scopes}; ${key.expiresAt ? `expires ${key.expiresAt}` : "never expires"}):`,
    key.key,
    "Store it now: it will not be shown again (CORE keeps only its SHA-256 hash).",
  ].join("\n");
}

/** What `core audit verify` prints, and its exit code. */
export function renderVerification(result: AuditVerification): { text: string; code: number } {
  if (result.ok) {
    const head = result.head ? `; last row seq ${result.head.seq}, hash ${result.head.hash}` : "";
    return { text: `audit log intact: ${result.rows} rows${head}`, code: EXIT_OK };
  }
  const { seq, message } = result.firstBroken;
  const before = result.rows === 0 ? "" : ` (the ${result.rows} rows before it hold)`;
  return { text: `audit log broken at row seq ${seq}: ${message}${before}`, code: EXIT_FAILED };
}

/** `core users create --email E --role R`: the password from the terminal (twice, unechoed) or the first line of stdin. */
export async function runUsersCreate(config: CoreConfig, options: { email: string; role: string }): Promise<number> {
  const command = "core users create";
  let password: string;
  try {
    password = await readNewPassword();
  } catch (err) {
    return report(command, err);
  }
  return run(config, "auth", command, async (channel) => {
    const user = await channel.call<User>("auth.createUser", { email: options.email, password, role: options.role });
    console.log(`Created user ${user.email} (id ${user.id}, role ${user.role})`);
    return EXIT_OK;
  });
}

export interface KeysCreateOptions {
  name: string;
  role: string;
  scopes?: string[];
  expires?: string;
  json?: boolean;
}

/** `core keys create`: prints the new key once (as JSON with --json, for scripts). */
export function runKeysCreate(config: CoreConfig, options: KeysCreateOptions): Promise<number> {
  return run(config, "auth", "core keys create", async (channel) => {
    const params = {
      name: options.name,
      role: options.role,
      ...(options.scopes ? { scopes: options.scopes } : {}),
      ...(options.expires ? { expiresIn: options.expires } : {}),
    };
    const key = await channel.call<CreatedApiKey>("auth.createKey", params);
    console.log(options.json ? JSON.stringify(key, null, 2) : renderCreatedKey(key));
    return EXIT_OK;
  });
}

/** `core keys list`: every key (revoked ones too), never a key itself. */
export function runKeysList(config: CoreConfig, options: { json?: boolean }): Promise<number> {
  return run(config, "auth", "core keys list", async (channel) => {
    const keys = await channel.call<ApiKeyInfo[]>("auth.listKeys");
    console.log(options.json ? JSON.stringify(keys, null, 2) : renderKeyTable(keys));
    return EXIT_OK;
  });
}

/** `core keys revoke ID`: effective at once on every node (keys are looked up on each use). */
export function runKeysRevoke(config: CoreConfig, id: string): Promise<number> {
  return run(config, "auth", "core keys revoke", async (channel) => {
    const key = await channel.call<ApiKeyInfo>("auth.revokeKey", { id });
    console.log(`Revoked API key ${key.id} "${key.name}" (role ${key.role}) at ${key.revokedAt}`);
    return EXIT_OK;
  });
}

/** `core audit verify`: exit 0 when every link of the chain holds, 1 naming the first row that does not. */
export function runAuditVerify(config: CoreConfig): Promise<number> {
  return run(config, "audit", "core audit verify", async (channel) => {
    const { text, code } = renderVerification(await channel.call<AuditVerification>("audit.verify"));
    console.log(text);
    return code;
  });
}
