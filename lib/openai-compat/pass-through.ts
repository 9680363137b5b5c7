import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import type { ExpertConfig } from "../../config/file-schema";
import { consultKey, type ConsultRequest } from "../circle/consult-request";
import { worstCaseUsd, type ExpertQuestion } from "../circle/consult-runner";
import { totals, type Consultation } from "../circle/consultation";
import type { ExpertAnswer } from "../circle/expert-answer";
import { outcomeError, type ExpertOutcome } from "../circle/fan-out";
import type { ConsensusResult, ExpertResponse } from "../consensus";
import type { BudgetLedger, Principal, Reservation } from "../costs/budget-ledger";
import type { PriceTable } from "../costs/price-table";
import { DeadlineExceededError, UnavailableError, UnknownExpertError } from "../errors";
import type { ExpertStreamEvent } from "../experts/expert-stream";
import type { ChatMessage } from "../providers/types";
import { conversationText } from "./conversation";

/** The parts of the cluster a pass-through uses; the service wires them to actor calls and the store. */
export interface PassThroughDeps {
  experts: readonly ExpertConfig[];
  nodeId: string;
  /** Prices the worst case a budget reserves. */
  prices: PriceTable;
  /** Budgets, enforced before the expert is asked; none: no budgets. */
  budgets?: Pick<BudgetLedger, "reserve">;
  /**
   * Records the consultation (its usage rows are what costs and budgets count).
   * May resolve once the write is under way, if this node's reads wait for it
   * (the service's choice: see services/openai.service.ts).
   */
  save(consultation: Consultation): Promise<void>;
  /** The consensus of the one answer, as a consult of one expert records it; when absent or failing, the record has none. */
  aggregate?(responses: ExpertResponse[]): Promise<ConsensusResult>;
  /** Told of every completed pass-through once it is recorded (events, audit). */
  onCompleted?(consultation: Consultation): void;
  /** Told of what failed where no caller is left to hear it (a stream its reader left). */
  onBackgroundError?(err: unknown): void;
  now?: () => number;
}

/** One expert asked directly. */
export interface PassThroughRequest {
  expertId: string;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  principal: Principal;
  /** Recorded with the consultation's parameters. */
  stream?: boolean;
}

/** What a streamed pass-through yields: the text as it comes, then the recorded consultation. */
export type PassThroughEvent = { type: "delta"; text: string } | { type: "done"; consultation: Consultation };

export interface PassThroughStream {
  /** Known before the first byte: the completion's id is made from it. */
  consultationId: string;
  /** Epoch ms. */
  started: number;
  events: AsyncGenerator<PassThroughEvent>;
}

/** What the queue between a stream's source and its reader carries. */
type QueueItem = PassThroughEvent | { type: "failed"; error: unknown };

/** The reader's side of the queue: its events, and its failure thrown where it happened. */
async function* readQueue(queue: Readable): AsyncGenerator<PassThroughEvent> {
  for await (const item of queue as AsyncIterable<QueueItem>) {
    if (item.type === "failed") throw item.error;
    yield item;
  }
}

interface Plan {
  id: string;
  expert: ExpertConfig;
  request: PassThroughRequest;
  question: ExpertQuestion;
  started: number;
}

/**
 * One expert asked directly (OpenAI's `core/<expert-id>`), accounted as a
 * consult of that one expert: the principal's budgets reserve the worst case
 * before the provider is called and settle to the actual cost, and the call is
 * recorded as a consultation (completed or failed) with its usage rows, so
 * costs, budgets and the consultation list count it like any consult. No
 * consult cache: a pass-through is a conversation, asked afresh.
 */
export class PassThrough {
  private readonly byId: ReadonlyMap<string, ExpertConfig>;
  private readonly now: () => number;

  constructor(private readonly deps: PassThroughDeps) {
    this.byId = new Map(deps.experts.map((e) => [e.id, e]));
    this.now = deps.now ?? Date.now;
  }

  /** The expert's whole answer, recorded. Its error, when it fails, is recorded too and thrown as it is. */
  async ask(request: PassThroughRequest, ask: (question: ExpertQuestion) => Promise<ExpertAnswer>): Promise<Consultation> {
    const plan = this.plan(request);
    const reservation = await this.reserve(plan);
    let answer: ExpertAnswer;
    try {
      answer = await ask(plan.question);
    } catch (err) {
      await this.recordFailure(plan, err, reservation);
      throw err;
    }
    return this.recordAnswer(plan, answer, reservation);
  }

  /**
   * The expert's answer as it is written. Resolves once the stream is open
   * (budget reserved, first chunk in): a failure before that is thrown here,
   * one after it by `events`. The stream is read to its end whether or not
   * `events` is: a reader that leaves early does not stop the provider (a
   * stream across nodes cannot be called back), and what it answered is
   * recorded and paid for all the same.
   */
  async stream(request: PassThroughRequest, open: (question: ExpertQuestion) => Promise<AsyncIterable<ExpertStreamEvent>>): Promise<PassThroughStream> {
    const plan = this.plan(request);
    const reservation = await this.reserve(plan);
    let source: AsyncIterable<ExpertStreamEvent>;
    try {
      source = await open(plan.question);
    } catch (err) {
      await this.recordFailure(plan, err, reservation);
      throw err;
    }
    // The queue between the source, read at its own pace, and the reader, who may leave.
    const queue = new Readable({ objectMode: true, read() {} });
    this.pump(plan, source, reservation, queue).catch((err: unknown) => this.deps.onBackgroundError?.(err));
    return { consultationId: plan.id, started: plan.started, events: readQueue(queue) };
  }

  private async pump(plan: Plan, source: AsyncIterable<ExpertStreamEvent>, reservation: Reservation | undefined, queue: Readable): Promise<void> {
    const put = (item: QueueItem) => {
      if (!queue.destroyed) queue.push(item);
    };
    let text = "";
    let recorded = false;
    try {
      // Read to the source's end, not only to `done` (see readExpertStream).
      for await (const chunk of source) {
        if (chunk.type === "delta") {
          text += chunk.text;
          put(chunk);
        } else if (!recorded) {
          recorded = true;
          put({ type: "done", consultation: await this.recordAnswer(plan, { ...chunk.answer, text }, reservation) });
        }
      }
      if (!recorded) throw new UnavailableError(`The stream from expert ${plan.expert.id} ended before its last chunk`, { data: { expert: plan.expert.id } });
    } catch (err) {
      if (!recorded) await this.recordFailure(plan, err, reservation);
      if (queue.destroyed) this.deps.onBackgroundError?.(err);
      put({ type: "failed", error: err });
    } finally {
      if (!queue.destroyed) queue.push(null);
    }
  }

  private plan(request: PassThroughRequest): Plan {
    const expert = this.byId.get(request.expertId);
    if (!expert) {
      throw new UnknownExpertError(`Unknown expert: ${request.expertId}; configured: ${[...this.byId.keys()].join(", ")}`, {
        data: { unknown: [request.expertId], known: [...this.byId.keys()] },
      });
    }
    const question: ExpertQuestion = {
      messages: request.messages,
      ...(request.maxTokens !== undefined ? { maxTokens: request.maxTokens } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    };
    return { id: randomUUID(), expert, request, question, started: this.now() };
  }

  private async reserve(plan: Plan): Promise<Reservation | undefined> {
    return this.deps.budgets?.reserve(plan.request.principal, worstCaseUsd([plan.expert], plan.question, this.deps.prices));
  }

  /** Records the answer (a consultation of one) and settles the budget to its cost, whether or not the record was written. */
  private async recordAnswer(plan: Plan, answer: ExpertAnswer, reservation: Reservation | undefined): Promise<Consultation> {
    try {
      const outcome: ExpertOutcome = { expertId: plan.expert.id, status: "answered", latencyMs: this.now() - plan.started, answer };
      const consensus = await this.consensusOf(plan, answer);
      const consultation = this.consultation(plan, outcome, consensus);
      await this.deps.save(consultation);
      this.deps.onCompleted?.(consultation);
      return consultation;
    } finally {
      await reservation?.settle(answer.costUsd);
    }
  }

  /**
   * Records the failure; the budget is released (what failed reported no
   * usage). Never throws: a record or a release that cannot be made is
   * reported, for the caller is owed the expert's error, not the store's.
   */
  private async recordFailure(plan: Plan, err: unknown, reservation: Reservation | undefined): Promise<void> {
    const error = outcomeError(err);
    const outcome: ExpertOutcome = {
      expertId: plan.expert.id,
      status: error.code === DeadlineExceededError.code ? "late" : "failed",
      latencyMs: this.now() - plan.started,
      error,
    };
    await this.deps.save(this.consultation(plan, outcome, undefined)).catch((saveErr: unknown) => this.deps.onBackgroundError?.(saveErr));
    await reservation?.settle(0).catch((settleErr: unknown) => this.deps.onBackgroundError?.(settleErr));
  }

  private async consensusOf(plan: Plan, answer: ExpertAnswer): Promise<ConsensusResult | undefined> {
    if (!this.deps.aggregate || !answer.text.trim()) return undefined;
    try {
      return await this.deps.aggregate([{ expertId: plan.expert.id, text: answer.text, weight: plan.expert.weight }]);
    } catch (err) {
      this.deps.onBackgroundError?.(err);
      return undefined;
    }
  }

  private consultation(plan: Plan, outcome: ExpertOutcome, consensus: ConsensusResult | undefined): Consultation {
    const { request, expert, question } = plan;
    const asked = conversationText(request.messages);
    const answered = outcome.status === "answered";
    const keyed: ConsultRequest = {
      question: asked.question,
      ...(asked.system ? { system: asked.system } : {}),
      ...(question.maxTokens !== undefined ? { maxTokens: question.maxTokens } : {}),
      ...(question.temperature !== undefined ? { temperature: question.temperature } : {}),
    };
    return {
      id: plan.id,
      principal: request.principal.id,
      question: asked.question,
      ...(asked.system ? { system: asked.system } : {}),
      experts: [expert.id],
      status: answered ? "completed" : "failed",
      ...(consensus ? { consensus } : {}),
      outcomes: [outcome],
      quorum: { required: 1, answered: answered ? 1 : 0 },
      ...totals([outcome]),
      ...(outcome.status !== "answered" ? { error: { code: outcome.error.code, message: outcome.error.message } } : {}),
      durationMs: this.now() - plan.started,
      nodeId: this.deps.nodeId,
      createdAt: new Date(plan.started).toISOString(),
      params: {
        mode: "pass-through",
        ...(question.maxTokens !== undefined ? { maxTokens: question.maxTokens } : {}),
        ...(question.temperature !== undefined ? { temperature: question.temperature } : {}),
        ...(request.stream ? { stream: true } : {}),
      },
      cacheKey: consultKey(keyed, [expert.id]),
    };
  }
}
