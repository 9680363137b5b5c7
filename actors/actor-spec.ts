import type { ActionParams, Context, ServiceBroker } from "moleculer";
import type { Logger } from "../lib/logger";
import type { PermissionSpec } from "../lib/security/permission";
import { policyFor } from "../config/resilience-policies";
import type { MailboxBounds } from "./mailbox";
import type { RestartType } from "./supervisor";

/** What an actor's hooks and handlers see of themselves. */
export interface ActorSelf<S> {
  readonly name: string;
  readonly nodeID: string;
  readonly broker: ServiceBroker;
  readonly logger: Logger;
  /** The actor's state: fresh from `state()` at every (re)start, so a restart is a clean slate. */
  state: S;
  /** Ends this incarnation as a crash; its supervisor decides what comes next. */
  crash(error: unknown): void;
}

export interface ActorAction<S> {
  /** What a caller's principal must hold; without it the action is internal (no direct call from an edge). */
  permission?: PermissionSpec;
  /** Moleculer (fastest-validator) parameter schema; bad parameters answer VALIDATION_FAILED. */
  params?: ActionParams;
  handler(ctx: Context<Record<string, unknown>, Record<string, unknown>>, self: ActorSelf<S>): unknown;
}

export interface ActorHealth<S> {
  /** Throws (or rejects) when the actor is unhealthy. */
  check(self: ActorSelf<S>): Promise<void> | void;
  intervalMs?: number;
  /** Consecutive failed checks that count as a crash. */
  failures?: number;
}

export interface ActorSpec<S = undefined> {
  /** The service name callers use, e.g. `expert.claude`: stable, node-independent. */
  name: string;
  /** Chooses the subtree (expert → experts, mcp → mcp, monitor → monitors) and the resilience policy. */
  kind?: string;
  mailbox?: Partial<MailboxBounds>;
  restart?: RestartType;
  /** How long a stop may take before the actor is dropped. */
  shutdownMs?: number;
  /** Runs on exactly one node of the cluster, held by a lease. */
  singleton?: boolean;
  state?: () => S;
  started?(self: ActorSelf<S>): Promise<void> | void;
  stopped?(self: ActorSelf<S>): Promise<void> | void;
  health?: ActorHealth<S>;
  actions: Record<string, ActorAction<S>>;
}

const ACTOR = Symbol.for("core.actor");

/** A validated actor declaration, ready to be supervised on a node. */
export interface ActorDefinition<S = unknown> extends Required<Pick<ActorSpec<S>, "name" | "kind" | "restart" | "shutdownMs" | "singleton">> {
  readonly [ACTOR]: true;
  mailbox: MailboxBounds;
  spec: ActorSpec<S>;
}

const NAME = /^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$/;

/** Declares an actor. The node's supervisor turns it into a Moleculer service and keeps it alive. */
export function defineActor<S = undefined>(spec: ActorSpec<S>): ActorDefinition<S> {
  if (!NAME.test(spec.name)) {
    throw new Error(`actor name ${JSON.stringify(spec.name)}: lower-case words separated by dots, e.g. expert.claude`);
  }
  if (Object.keys(spec.actions).length === 0) throw new Error(`actor ${spec.name} has no actions`);
  return {
    [ACTOR]: true,
    name: spec.name,
    kind: spec.kind ?? spec.name.split(".")[0]!,
    restart: spec.restart ?? "permanent",
    shutdownMs: spec.shutdownMs ?? 5_000,
    singleton: spec.singleton ?? false,
    // The kind's policy sets the default bulkhead; the actor may narrow or widen it.
    mailbox: { ...policyFor(spec.name).mailbox, ...spec.mailbox },
    spec,
  };
}

export function isActorDefinition(value: unknown): value is ActorDefinition {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[ACTOR] === true;
}
