import type { Logger } from "../logger";
import { mcpCallPermission, type McpTool } from "../mcp/mcp-actor-contract";
import type { GatewayTool, ToolTarget } from "./tool-gateway";
import { namespacedToolName } from "./tool-names";

/** Where the catalogue comes from: the `mcp.<server>` actors the registry knows now. */
export interface CatalogueSource {
  /** Names of the MCP servers some node runs an actor for, now. */
  servers(): string[];
  /** The server's tools (its actor's `listTools`); throws when it cannot answer. */
  listTools(server: string): Promise<McpTool[]>;
}

/** An upstream tool in the catalogue, with the permission that calling it needs. */
export interface CatalogueEntry extends GatewayTool {
  permission: string;
}

export interface ToolCatalogueOptions {
  logger: Logger;
  /**
   * After this long without a refresh, a read starts one in the background
   * (and answers from what it holds): events keep the catalogue current, this
   * only repairs one that missed some. Default 5 minutes.
   */
  maxAgeMs?: number;
  now?: () => number;
}

type Scope = Set<string> | "all";

const pathKey = (server: string, tool: string) => `${server}\u0000${tool}`;

/**
 * Every upstream tool under its namespaced name, gathered from the MCP actors
 * and cached. Refreshes are serialised and coalesced (a burst of
 * `tools.changed` events makes one round of `listTools` calls); a server that
 * cannot answer keeps the tools it last listed, so a restarting actor does
 * not make its tools blink out. Listeners hear of every change of the
 * catalogue's content, not of refreshes that changed nothing.
 */
export class ToolCatalogue {
  private readonly byServer = new Map<string, readonly McpTool[]>();
  private byName = new Map<string, CatalogueEntry>();
  private byPath = new Map<string, CatalogueEntry>();
  private ordered: readonly CatalogueEntry[] = [];
  private fingerprint = "";
  private loadedAt: number | undefined;
  private knownServers = new Set<string>();
  private queued: { scope: Scope; done: Promise<void> } | undefined;
  private tail: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<() => void>();
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(
    private readonly source: CatalogueSource,
    private readonly options: ToolCatalogueOptions,
  ) {
    this.maxAgeMs = options.maxAgeMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Every tool, in server then upstream order; the first read waits for the first load. */
  async entries(): Promise<readonly CatalogueEntry[]> {
    if (this.loadedAt === undefined) await this.refresh();
    else if (this.now() - this.loadedAt > this.maxAgeMs) void this.refresh();
    return this.ordered;
  }

  async find(target: ToolTarget): Promise<CatalogueEntry | undefined> {
    await this.entries();
    return "name" in target ? this.byName.get(target.name) : this.byPath.get(pathKey(target.server, target.tool));
  }

  /** Lists one server's tools again (its actor said they changed), or every server's. Resolves once done; never rejects. */
  refresh(server?: string): Promise<void> {
    let queued = this.queued;
    if (!queued) {
      const entry: { scope: Scope; done: Promise<void> } = { scope: new Set(), done: Promise.resolve() };
      entry.done = this.tail.then(() => {
        // From here on, new requests queue behind this round.
        if (this.queued === entry) this.queued = undefined;
        return this.run(entry.scope);
      });
      this.tail = entry.done;
      this.queued = queued = entry;
    }
    if (server === undefined) queued.scope = "all";
    else if (queued.scope !== "all") queued.scope.add(server);
    return queued.done;
  }

  /** The registry changed: servers that came or went are listed again (or dropped). */
  serversChanged(): Promise<void> {
    if (this.loadedAt === undefined) return this.refresh();
    const live = new Set(this.source.servers());
    const changed = [...live].filter((s) => !this.knownServers.has(s)).concat([...this.knownServers].filter((s) => !live.has(s)));
    return Promise.all(changed.map((s) => this.refresh(s))).then(() => undefined);
  }

  /** Subscribes to changes of the catalogue; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async run(scope: Scope): Promise<void> {
    try {
      const live = new Set(this.source.servers());
      const asked = scope === "all" ? [...this.byServer.keys(), ...live] : [...scope];
      const targets = [...new Set(asked)];
      await Promise.all(
        targets.map(async (server) => {
          if (!live.has(server)) {
            this.byServer.delete(server);
            return;
          }
          try {
            this.byServer.set(server, await this.source.listTools(server));
          } catch (err) {
            const kept = this.byServer.get(server)?.length ?? 0;
            this.options.logger.warn(`Tools of MCP server ${server} not listed (${(err as Error).message}); ${kept ? `keeping the ${kept} listed before` : "none listed yet"}`);
          }
        }),
      );
      this.knownServers = scope === "all" ? live : new Set([...[...this.knownServers].filter((s) => live.has(s)), ...targets.filter((s) => live.has(s))]);
      this.loadedAt = this.now();
      this.rebuild();
    } catch (err) {
      this.options.logger.error(`The MCP tool catalogue was not refreshed: ${(err as Error).message}`);
    }
  }

  private rebuild(): void {
    const byName = new Map<string, CatalogueEntry>();
    const byPath = new Map<string, CatalogueEntry>();
    const ordered: CatalogueEntry[] = [];
    for (const server of [...this.byServer.keys()].sort()) {
      for (const tool of this.byServer.get(server) ?? []) {
        const name = namespacedToolName(server, tool.name);
        // A server that lists a tool twice. (Two servers cannot make one name: config/file-schema.ts refuses server names with "__" or a final "_".)
        if (byName.has(name)) continue;
        const entry: CatalogueEntry = { ...tool, name, server, tool: tool.name, permission: mcpCallPermission(server, tool.name) };
        byName.set(name, entry);
        byPath.set(pathKey(server, tool.name), entry);
        ordered.push(entry);
      }
    }
    this.byName = byName;
    this.byPath = byPath;
    this.ordered = ordered;
    const fingerprint = JSON.stringify(ordered);
    if (fingerprint === this.fingerprint) return;
    this.fingerprint = fingerprint;
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (err) {
        this.options.logger.error(`A listener of the MCP tool catalogue failed: ${(err as Error).message}`);
      }
    }
  }
}
