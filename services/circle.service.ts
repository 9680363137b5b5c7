import type { Context } from "moleculer";
import { defineActor, type ActorDefinition } from "../actors/actor-spec";
import { parseConsultRequest } from "../lib/circle/consult-request";
import { ConsultRunner } from "../lib/circle/consult-runner";
import type { Consultation } from "../lib/circle/consultation";
import { WriteBehindConsultations, type Consultations } from "../lib/circle/write-behind-consultations";
import type { Logger } from "../lib/logger";
import { ConsultationStore, InvalidCursorError } from "../lib/circle/consultation-store";
import type { ExpertAnswer } from "../lib/circle/expert-answer";
import { ExpertLatencies } from "../lib/circle/expert-latencies";
import { listExperts, type ExpertListing, type ExpertStatus } from "../lib/circle/expert-directory";
import type { ExpertOutcome } from "../lib/circle/fan-out";
import type { ConsensusResult } from "../lib/consensus";
import { ConsultCache } from "../lib/circle/consult-cache";
import { BudgetLedger } from "../lib/costs/budget-ledger";
import { PriceTable } from "../lib/costs/price-table";
import { BudgetExceededError, NotFoundError, ValidationError } from "../lib/errors";
import type { NodeRuntime } from "../mixins/node-runtime";
import { CircleMetrics } from "../mixins/circle-metrics";
import { principalOf } from "../mixins/principal";
import { deadlineOf } from "../mixins/resilience.middleware";
import { traceStepOf } from "../mixins/tracing-step";

/** Emitted after every consult that reached its quorum. */
export const CONSULTATION_COMPLETED = "consultation.completed";
/**
 * Emitted per expert outcome while a consult runs, only when the caller asked
 * for it with `meta.progress` (a token it filters on): `core consult` shows it.
 */
export const CONSULT_PROGRESS = "circle.progress";

/** What a progress event carries. */
export interface ConsultProgress {
  token: string;
  expertId: string;
  status: "answered" | "failed" | "late";
  latencyMs: number;
  code?: string;
}

type Ctx = Context<Record<string, unknown>, Record<string, unknown>>;

/** Time left until `deadline`, at least 1 ms (a call's own timeout, which the deadline middleware tightens to). */
const remaining = (deadline: number) => Math.max(1, deadline - Date.now());

/** How long `circle.experts` waits for each expert's status. */
const EXPERT_STATUS_TIMEOUT_MS = 2_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface CircleState {
  store: Consultations;
  metrics?: CircleMetrics;
  cache?: ConsultCache;
  budgets?: BudgetLedger;
  latencies: ExpertLatencies;
}

/**
 * `circle.consult`, `circle.get`, `circle.list`: the coordinator of the Circle
 * of Experts. The work is lib/circle's ConsultRunner; this actor wires it to
 * the expert and aggregator actors and to the store.
 */
export default function createCircleActor(runtime: Pick<NodeRuntime, "config" | "store" | "shared">): ActorDefinition[] {
  const { config, store, shared } = runtime;
  if (!store || !shared) throw new Error("the circle needs the store and the shared state");
  const rows = new ConsultationStore(store);
  let logger: Logger | undefined;
  // Embedded, the answer does not wait for its row (see WriteBehindConsultations for why that loses nothing).
  const writeBehind =
    store.kind === "pglite"
      ? new WriteBehindConsultations(rows, (id, err) => logger?.error(`Consultation ${id} was answered but could not be stored: ${(err as Error).message}`))
      : undefined;
  const consultations: Consultations = writeBehind ?? rows;
  const prices = new PriceTable(config.prices);
  const circle = defineActor<CircleState>({
    name: "circle",
    kind: "circle",
    state: () => ({ store: consultations, latencies: new ExpertLatencies() }),
    started(self) {
      logger = self.logger;
      self.state.metrics = CircleMetrics.for(self.broker);
      if (config.consultCacheTtlSec > 0) self.state.cache = new ConsultCache({ shared, ttlMs: config.consultCacheTtlSec * 1000, logger: self.logger });
      if (config.budgets.length > 0) {
        self.state.budgets = new BudgetLedger({ rules: config.budgets, shared, spentSince: (principal, since) => consultations.spentSince(principal, since) });
      }
    },
    // A stopping circle finishes the writes it answered ahead of.
    stopped: () => writeBehind?.flush(),

    actions: {
      consult: {
        permission: "consult:run",
        async handler(ctx: Ctx, self): Promise<Consultation> {
          const request = parseConsultRequest(ctx.params);
          // The consultation's write is a span of the consult's trace (embedded, it is queued: see WriteBehindConsultations).
          const storeStep = traceStepOf(ctx, store.kind);
          const runner = new ConsultRunner({
            experts: config.experts,
            nodeId: self.nodeID,
            ask: (expertId, question, deadline) => ctx.call<ExpertAnswer, typeof question>(`expert.${expertId}.ask`, question, { timeout: remaining(deadline) }),
            aggregate: (responses, deadline) =>
              ctx.call<ConsensusResult, { responses: typeof responses }>("aggregator.aggregate", { responses }, { timeout: remaining(deadline) }),
            save: (c) => storeStep("store.save consultation", () => self.state.store.save(c), { consultation: c.id, status: c.status }),
            prices,
            ...(self.state.budgets ? { budgets: self.state.budgets } : {}),
            ...(self.state.cache ? { cache: self.state.cache } : {}),
            latencies: self.state.latencies,
          });
          const token = typeof ctx.meta.progress === "string" ? ctx.meta.progress : undefined;
          const onOutcome = (o: ExpertOutcome) => {
            const progress: ConsultProgress = { token: token!, expertId: o.expertId, status: o.status, latencyMs: o.latencyMs, ...(o.status !== "answered" ? { code: o.error.code } : {}) };
            void ctx.emit(CONSULT_PROGRESS, progress);
          };
          const began = process.hrtime.bigint();
          const took = () => Number(process.hrtime.bigint() - began) / 1e9;
          let consultation: Consultation;
          try {
            consultation = await runner.run(request, { principal: principalOf(ctx.meta), deadline: deadlineOf(ctx), ...(token ? { onOutcome } : {}) });
          } catch (err) {
            const refused = err instanceof BudgetExceededError;
            if (refused) self.state.metrics?.refused(String(err.data.period));
            self.state.metrics?.consult(refused ? "refused" : "failed", false, took());
            throw err;
          }
          self.state.metrics?.consult("completed", consultation.cached === true, took());
          void ctx.emit(CONSULTATION_COMPLETED, {
            id: consultation.id,
            principal: consultation.principal,
            experts: consultation.experts,
            cached: consultation.cached === true,
            agreement: consultation.consensus?.agreement,
            costUsd: consultation.costUsd,
            durationMs: consultation.durationMs,
          });
          return consultation;
        },
      },
      experts: {
        permission: "experts:read",
        // Each expert says how it is from where it runs; one no node runs is listed as unavailable.
        handler(ctx: Ctx): Promise<ExpertListing[]> {
          return listExperts(config.experts, prices, (id) => ctx.call<ExpertStatus, Record<string, never>>(`expert.${id}.status`, {}, { timeout: EXPERT_STATUS_TIMEOUT_MS, retries: 0 }));
        },
      },
      get: {
        permission: "consultations:read",
        params: { id: { type: "string" }, $$strict: true },
        async handler(ctx: Ctx, self): Promise<Consultation> {
          const id = ctx.params.id as string;
          if (!UUID.test(id)) throw new ValidationError("Invalid consultation id", { issues: [{ field: "id", received: id, message: "a consultation id (a UUID)" }] });
          const found = await self.state.store.get(id);
          if (!found) throw new NotFoundError(`No consultation ${id}`, { data: { id } });
          return found;
        },
      },
      list: {
        permission: "consultations:read",
        params: {
          limit: { type: "number", integer: true, min: 1, max: 200, optional: true, convert: true },
          cursor: { type: "string", max: 200, optional: true },
          principal: { type: "string", max: 200, optional: true },
          expert: { type: "string", max: 63, optional: true },
          from: { type: "date", convert: true, optional: true },
          to: { type: "date", convert: true, optional: true },
          status: { type: "enum", values: ["completed", "failed"], optional: true },
          $$strict: true,
        },
        async handler(ctx: Ctx, self) {
          const p = ctx.params as { limit?: number; cursor?: string; principal?: string; expert?: string; from?: Date; to?: Date; status?: Consultation["status"] };
          try {
            return await self.state.store.list(
              {
                ...(p.principal ? { principal: p.principal } : {}),
                ...(p.expert ? { expert: p.expert } : {}),
                ...(p.from ? { from: p.from.toISOString() } : {}),
                ...(p.to ? { to: p.to.toISOString() } : {}),
                ...(p.status ? { status: p.status } : {}),
              },
              p.limit ?? 50,
              p.cursor,
            );
          } catch (err) {
            if (err instanceof InvalidCursorError) {
              throw new ValidationError("Invalid cursor", { issues: [{ field: "cursor", received: p.cursor, message: "a nextCursor from an earlier page" }] });
            }
            throw err;
          }
        },
      },
    },
  });
  return [circle as unknown as ActorDefinition];
}
