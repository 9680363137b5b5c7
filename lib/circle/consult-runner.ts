import { randomUUID } from "node:crypto";
import type { ExpertConfig } from "../../config/file-schema";
import type { ConsensusResult, ExpertResponse } from "../consensus";
import type { BudgetLedger, Principal } from "../costs/budget-ledger";
import type { PriceTable } from "../costs/price-table";
import type { ConsultCache } from "./consult-cache";
import { CoreError, NoExpertsError, QuorumNotReachedError, UnknownExpertError } from "../errors";
import { DEFAULT_EXPERT_MAX_TOKENS } from "../experts/expert-caller";
import type { ChatMessage } from "../providers/types";
import { consultKey, DEFAULT_CONSULT_TIMEOUT_MS, type ConsultRequest } from "./consult-request";
import { totals, type Consultation } from "./consultation";
import type { ExpertAnswer } from "./expert-answer";
import type { ExpertLatencies } from "./expert-latencies";
import { fanOut, type ExpertOutcome } from "./fan-out";
import { NO_EXPERTS_HINT } from "./no-experts-hint";

/** What one expert is sent. */
export interface ExpertQuestion {
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
}

/** The parts of the cluster a consult uses; the circle service wires them to actor calls and the store. */
export interface ConsultDeps {
  experts: readonly ExpertConfig[];
  nodeId: string;
  ask(expertId: string, question: ExpertQuestion, deadline: number): Promise<ExpertAnswer>;
  aggregate(responses: ExpertResponse[], deadline: number): Promise<ConsensusResult>;
  /** Persists the consultation (completed or failed) before the caller hears of it. */
  save(consultation: Consultation): Promise<void>;
  /** Prices the worst case a budget reserves. */
  prices: PriceTable;
  /** Budgets, enforced before any expert is asked; none: no budgets. */
  budgets?: Pick<BudgetLedger, "reserve">;
  /** Identical consults answered once; none: every consult asks its experts. */
  cache?: ConsultCache;
  /** The experts' recent answering times: the slowest expected is asked first. None: configured order. */
  latencies?: ExpertLatencies;
  now?: () => number;
}

export interface ConsultContext {
  principal: Principal;
  /** Told of each expert's outcome as it comes. */
  onOutcome?: (outcome: ExpertOutcome) => void;
  /** The caller's deadline (epoch ms), when it carries one tighter than the request's timeout. */
  deadline?: number;
}

/**
 * Time kept back from the experts for merging their answers and recording the
 * consult: a tenth of the consult's time, from 50 ms to 1 s (the consensus of
 * 32 answers of 4 KB takes about 2 ms; the store write a few ms).
 */
export function finishingReserveMs(totalMs: number): number {
  return Math.min(1_000, Math.max(50, Math.round(totalMs / 10)));
}

/** Tokens of chat framing per message (role markers, separators) on top of its text. */
const MESSAGE_OVERHEAD_TOKENS = 16;

/**
 * The most a question can cost: byte-level tokenisers never make more tokens
 * than UTF-8 bytes, so the prompt costs at most its bytes (plus framing) as
 * tokens, and every expert writes its whole output allowance.
 */
export function worstCaseUsd(experts: readonly ExpertConfig[], question: ExpertQuestion, prices: PriceTable): number {
  const promptTokens = question.messages.reduce((n, m) => n + Buffer.byteLength(m.content, "utf8") + MESSAGE_OVERHEAD_TOKENS, 0);
  return experts.reduce((sum, e) => sum + prices.worstCase(prices.priceOf(e), promptTokens, question.maxTokens ?? e.maxTokens ?? DEFAULT_EXPERT_MAX_TOKENS), 0);
}

/** One consult's fixed facts, decided once at its start. */
interface ConsultPlan {
  request: ConsultRequest;
  experts: ExpertConfig[];
  context: ConsultContext;
  /** Epoch ms. */
  started: number;
  deadline: number;
  /** What identical consults share (consult-request.ts consultKey). */
  key: string;
}

/** A majority of the experts asked: one of one, two of two or three, three of four or five. */
export function defaultQuorum(experts: number): number {
  return Math.floor(experts / 2) + 1;
}

/**
 * One consult, start to end: choose the experts, ask them all at once under
 * one deadline, merge the answers that came in (quorum permitting), record
 * everything, answer. Every expert asked is in the result, answered or not.
 */
export class ConsultRunner {
  private readonly byId: ReadonlyMap<string, ExpertConfig>;
  private readonly now: () => number;

  constructor(private readonly deps: ConsultDeps) {
    this.byId = new Map(deps.experts.map((e) => [e.id, e]));
    this.now = deps.now ?? Date.now;
  }

  /** The experts a request asks: those it names (all known), else every configured one. */
  expertsFor(request: ConsultRequest): ExpertConfig[] {
    if (this.deps.experts.length === 0) throw new NoExpertsError(`No experts are configured. ${NO_EXPERTS_HINT}`);
    if (!request.experts) return [...this.deps.experts];
    const unknown = request.experts.filter((id) => !this.byId.has(id));
    if (unknown.length > 0) {
      throw new UnknownExpertError(`Unknown expert${unknown.length > 1 ? "s" : ""}: ${unknown.join(", ")}; configured: ${[...this.byId.keys()].join(", ")}`, {
        data: { unknown, known: [...this.byId.keys()] },
      });
    }
    return [...new Set(request.experts)].map((id) => this.byId.get(id)!);
  }

  /**
   * One consult: from the cache when an identical one was answered (or is
   * being answered), else asked of the experts within the principal's budget.
   * A cached answer is recorded for this caller too, at no cost.
   */
  async run(request: ConsultRequest, context: ConsultContext): Promise<Consultation> {
    const experts = this.expertsFor(request);
    const started = this.now();
    const own = started + (request.timeoutMs ?? DEFAULT_CONSULT_TIMEOUT_MS);
    const deadline = context.deadline !== undefined ? Math.min(context.deadline, own) : own;
    const plan: ConsultPlan = { request, experts, context, started, deadline, key: consultKey(request, experts.map((e) => e.id)) };
    const cache = request.cache === false ? undefined : this.deps.cache;
    if (!cache) return this.consult(plan);
    const result = await cache.run(plan.key, deadline, () => this.consult(plan));
    if (!result.cached) return result.consultation;
    const source = result.consultation;
    const copy: Consultation = {
      ...source,
      id: randomUUID(),
      principal: context.principal.id,
      usage: { inputTokens: 0, outputTokens: 0 },
      costUsd: 0,
      durationMs: this.now() - started,
      nodeId: this.deps.nodeId,
      createdAt: new Date(started).toISOString(),
      cached: true,
      cachedFrom: source.id,
    };
    await this.deps.save(copy);
    return copy;
  }

  private async consult(plan: ConsultPlan): Promise<Consultation> {
    const { request, experts, context } = plan;
    const required = Math.min(request.minResponses ?? defaultQuorum(experts.length), experts.length);
    const messages: ChatMessage[] = [...(request.system ? [{ role: "system" as const, content: request.system }] : []), { role: "user", content: request.question }];
    const question: ExpertQuestion = {
      messages,
      ...(request.maxTokens !== undefined ? { maxTokens: request.maxTokens } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    };
    // Refused here, before any provider is called, when the worst case would pass a budget.
    const reservation = await this.deps.budgets?.reserve(context.principal, worstCaseUsd(experts, question, this.deps.prices));
    let settledCost = 0;
    try {
      const consultation = await this.askAndMerge(plan, question, required);
      settledCost = consultation.costUsd;
      return consultation;
    } catch (err) {
      const data = err instanceof CoreError ? err.data : undefined;
      if (typeof data?.costUsd === "number") settledCost = data.costUsd;
      throw err;
    } finally {
      await reservation?.settle(settledCost);
    }
  }

  private async askAndMerge(plan: ConsultPlan, question: ExpertQuestion, required: number): Promise<Consultation> {
    const { request, experts, context, started, deadline } = plan;
    const ids = experts.map((e) => e.id);
    const latencies = this.deps.latencies;
    const { outcomes, answered, quorum } = await fanOut({
      experts: ids,
      ...(latencies ? { order: latencies.dispatchOrder(ids) } : {}),
      minResponses: required,
      deadline: deadline - finishingReserveMs(deadline - started),
      ...(request.expertTimeoutMs !== undefined ? { expertTimeoutMs: request.expertTimeoutMs } : {}),
      ...(request.graceMs !== undefined ? { graceMs: request.graceMs } : {}),
      ask: (id, expertDeadline) => this.deps.ask(id, question, expertDeadline),
      ...(context.onOutcome ? { onOutcome: context.onOutcome } : {}),
      now: this.now,
    });
    // A failure can be quick and says nothing of how long an answer takes; a wait that ran out does.
    for (const o of outcomes) if (o.status !== "failed") latencies?.observe(o.expertId, o.latencyMs);

    let consensus: ConsensusResult | undefined;
    let error: Consultation["error"];
    if (quorum) {
      const responses: ExpertResponse[] = [];
      for (const o of outcomes) {
        if (o.status === "answered") responses.push({ expertId: o.expertId, text: o.answer.text, weight: this.byId.get(o.expertId)!.weight });
      }
      consensus = await this.deps.aggregate(responses, deadline);
    } else {
      error = { code: QuorumNotReachedError.code, message: `${answered} of ${ids.length} experts answered; the consult needed ${required}` };
    }

    const consultation: Consultation = {
      id: randomUUID(),
      principal: context.principal.id,
      question: request.question,
      ...(request.system ? { system: request.system } : {}),
      experts: ids,
      status: quorum ? "completed" : "failed",
      ...(consensus ? { consensus } : {}),
      outcomes,
      quorum: { required, answered },
      ...totals(outcomes),
      ...(error ? { error } : {}),
      durationMs: this.now() - started,
      nodeId: this.deps.nodeId,
      createdAt: new Date(started).toISOString(),
      params: paramsOf(request),
      cacheKey: plan.key,
    };
    await this.deps.save(consultation);
    if (!quorum) {
      throw new QuorumNotReachedError(`${error!.message}. Each expert's outcome is in the error's data.`, {
        data: { consultationId: consultation.id, required, answered, costUsd: consultation.costUsd, experts: outcomes },
      });
    }
    return consultation;
  }
}

function paramsOf(request: ConsultRequest): Record<string, unknown> {
  const { question: _q, system: _s, experts: _e, ...rest } = request;
  return rest;
}
